-- Convert a batch of Markdown documents in one pandoc process (write/pandoc.py runs it as
-- `pandoc lua convert.lua BATCH.json OUT_DIR`). Starting pandoc costs more than converting a
-- typical document, so one process per batch replaces two per document.
--
-- BATCH.json: {from, reference_doc, template, jobs: [{markdown, typst: {variables} | null}]}
-- For job i it writes OUT_DIR/i.docx and, when asked, OUT_DIR/i.typ; on failure OUT_DIR/i.err.

local batch_path, out_dir = arg[1], arg[2]

local function read_file(path, mode)
  local handle = assert(io.open(path, mode or "r"))
  local text = handle:read("a")
  handle:close()
  return text
end

local function write_file(path, data)
  local handle = assert(io.open(path, "wb"))
  handle:write(data)
  handle:close()
end

local batch = pandoc.json.decode(read_file(batch_path), false)
local template = pandoc.template.compile(read_file(batch.template))
local ZWSP = utf8.char(0x200B)
-- No code blocks reach the documents: without highlighting styles the DOCX writer is faster.
local docx_options = {reference_doc = batch.reference_doc, columns = 1, highlight_method = "none"}

-- Text from the data is escaped for typst: a variable becomes typst markup through the typst
-- writer itself, never pasted into the template raw (DESIGN.md section 8).
local function typst_text(value)
  local doc = pandoc.Pandoc({pandoc.Plain(pandoc.Inlines(value))})
  return (pandoc.write(doc, "typst", {wrap_text = "none"}):gsub("%s+$", ""))
end

-- Long chemical names and codes have no spaces: let table cells break after - ) ] / , as Word
-- does. Done here rather than with a typst regex show rule, which tripled typst's time on
-- large tables.
local break_after = {Str = function(str)
  return pandoc.Str((str.text:gsub("([%-%)%]/,])", "%1" .. ZWSP)))
end}

local function typst_source(doc, settings)
  local variables = {}
  for name, value in pairs(settings.variables) do variables[name] = value end
  for _, name in ipairs(settings.escape) do variables[name] = typst_text(settings.variables[name]) end
  local broken = doc:walk({Table = function(tbl) return tbl:walk(break_after) end})
  return pandoc.write(broken, "typst", {template = template, variables = variables, columns = 1})
end

for index, job in ipairs(batch.jobs) do
  local name = out_dir .. "/" .. tostring(index - 1)
  local ok, err = pcall(function()
    local doc = pandoc.read(job.markdown, batch.from)
    write_file(name .. ".docx", pandoc.write(doc, "docx", docx_options))
    if job.typst ~= pandoc.json.null and job.typst ~= nil then
      write_file(name .. ".typ", typst_source(doc, job.typst))
    end
  end)
  if not ok then write_file(name .. ".err", tostring(err)) end
end
