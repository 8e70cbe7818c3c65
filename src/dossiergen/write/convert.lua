-- Convert a batch of Markdown documents in one pandoc process (write/pandoc.py runs it as
-- `pandoc lua convert.lua BATCH.json OUT_DIR`). Starting pandoc costs more than converting a
-- typical document, so one process per batch replaces two per document.
--
-- BATCH.json: {from, reference_doc, template, marker, jobs: [{markdown, alone, typst: {variables, escape} | null}]}
-- It writes OUT_DIR/combined.docx for the jobs not `alone`, OUT_DIR/i.docx for job i if alone,
-- OUT_DIR/i.typ when asked, and OUT_DIR/i.err when job i fails.

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
-- columns = 1, as `--columns=1` on the command line: every pipe table gets relative widths.
local reader_options = {columns = 1}
local docx_options = {reference_doc = batch.reference_doc, columns = 1, highlight_method = "none"}

-- Text from the data is escaped for typst, never pasted into the template raw (DESIGN.md
-- section 8): every ASCII punctuation character gets a backslash, which typst reads as that
-- character itself, and runs of white space become one space.
local function typst_text(value)
  return (value:gsub("%s+", " "):gsub("(%p)", "\\%1"))
end

-- Long chemical names and codes have no spaces: let table cells break after - ) ] / , as Word
-- does, but not before a digit, so that batch numbers (SV-VCT-001-25) and numbers (1,000; 1/2)
-- stay whole. Done here rather than with a typst regex show rule, which tripled typst's time on
-- large tables; a Str without those characters is left as it is (returning nil is cheaper).
local function breakable(text)
  return (text:gsub("([%-%)%]/,])()", function(char, next)
    return text:sub(next, next):match("%d") and char or char .. ZWSP
  end))
end

local break_after = {Str = function(str)
  if str.text:find("[%-%)%]/,]") then
    return pandoc.Str(breakable(str.text))
  end
end}

local function typst_source(doc, settings)
  local variables = {}
  for name, value in pairs(settings.variables) do variables[name] = value end
  for _, name in ipairs(settings.escape) do variables[name] = typst_text(settings.variables[name]) end
  local broken = doc:walk({Table = function(tbl)
    local caption = tbl.caption  -- cells only, as Word does; captions keep their text
    local cells = tbl:walk(break_after)
    cells.caption = caption
    return cells
  end})
  return pandoc.write(broken, "typst", {template = template, variables = variables, columns = 1, wrap_text = "wrap-none"})
end

-- Attachments (dossiergen/attach.py): an image `attachment:NAME` is the job's file NAME. The DOCX
-- embeds its PNG (through the media bag); the typst source embeds its SVG as bytes in the source
-- (or, without an SVG, the PNG's bytes), so typst needs no file access. A name without its file
-- is an error of the job.
local function attachment_of(img, files)
  local name = img.src:match("^attachment:(.+)$")
  if not name then return nil end
  local found = files and files[name]
  if not found then error("attachment " .. name .. " was not passed with its document") end
  return name, found
end

local function docx_images(doc, files)
  return doc:walk({Image = function(img)
    local name, found = attachment_of(img, files)
    if not name then return nil end
    if not found.png then error("attachment " .. name .. " has no PNG for the DOCX") end
    pandoc.mediabag.insert(name .. ".png", "image/png", read_file(found.png, "rb"))
    img.src = name .. ".png"
    return img
  end})
end

local function typst_string(value)
  local escaped = value:gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("\r", "\\r"):gsub("\n", "\\n")
  return '"' .. escaped .. '"'
end

local function typst_images(doc, files)
  doc = doc:walk({Div = function(div)
    if div.classes:includes("dossiergen-figure") then  -- attach.py: the image with its caption, unbroken
      local blocks = pandoc.Blocks({pandoc.RawBlock("typst", "#block(breakable: false)[")})
      blocks:extend(div.content)
      blocks:insert(pandoc.RawBlock("typst", "]"))
      return blocks
    end
  end})
  return doc:walk({Image = function(img)
    local name, found = attachment_of(img, files)
    if not name then return nil end
    local source
    if found.svg then
      source = "bytes(" .. typst_string(read_file(found.svg, "rb")) .. "), format: \"svg\""
    else
      local data, codes = read_file(found.png, "rb"), {}
      for i = 1, #data do codes[i] = tostring(data:byte(i)) end
      source = "bytes((" .. table.concat(codes, ",") .. ")), format: \"png\""
    end
    local alt = typst_string(pandoc.utils.stringify(img.caption or {}))
    return pandoc.RawInline("typst", "#image(" .. source .. ", width: 100%, alt: " .. alt .. ")")
  end})
end

-- Nothing outside the batch is read or fetched: an image not already in the media bag (put
-- there by the caller from a checked dossier file) would make the DOCX writer read a path or
-- fetch a URL, and the typst source read a path; it is shown as its description and file name.
-- Validation refuses such images before a build (rules/formats.py); this is the last guard.
local confine = {Image = function(img)
  if pandoc.mediabag.lookup(img.src) then return nil end
  local shown = pandoc.List(img.caption)
  if #shown > 0 then shown:insert(pandoc.Space()) end
  shown:insert(pandoc.Str("(" .. img.src .. ")"))
  return pandoc.Emph(shown)
end}

-- A very long paragraph in a DOCX: its words and spaces become one Str. The DOCX writer's time grows with
-- the square of the number of runs in a paragraph (a 1 MB paragraph took minutes); one run
-- per stretch of plain text looks the same and keeps the time linear. Ordinary paragraphs
-- keep pandoc's run per word, so their bytes do not change.
local LONG = 2000
local merge_long = {Inlines = function(inlines)
  if #inlines < LONG then return nil end
  local out, run = pandoc.Inlines({}), nil
  for _, el in ipairs(inlines) do
    local tag = el.tag
    if tag == "Str" or tag == "Space" or tag == "SoftBreak" then
      run = run or {}
      run[#run + 1] = tag == "Str" and el.text or " "
    else
      if run then out:insert(pandoc.Str(table.concat(run))); run = nil end
      out:insert(el)
    end
  end
  if run then out:insert(pandoc.Str(table.concat(run))) end
  return out
end}

-- DOCX: the documents are written as one DOCX, each after a marker heading, and write/split.py
-- cuts it into one DOCX per document: the DOCX writer's fixed cost (about 15 ms: it reads and
-- merges the reference document) is paid once per batch. A job marked `alone` gets its own DOCX.
local combined = pandoc.Blocks({})

for index, job in ipairs(batch.jobs) do
  local name = out_dir .. "/" .. tostring(index - 1)
  local ok, err = pcall(function()
    local doc = pandoc.read(job.markdown, batch.from, reader_options)
    local for_docx = docx_images(doc, job.attachments):walk(confine):walk(merge_long)  -- merge: not for typst, slow on one long Str
    if not job.alone then
      combined:insert(pandoc.Header(1, batch.marker .. tostring(index - 1)))
      combined:extend(for_docx.blocks)
    else
      write_file(name .. ".docx", pandoc.write(for_docx, "docx", docx_options))
    end
    if job.typst ~= pandoc.json.null and job.typst ~= nil then
      write_file(name .. ".typ", typst_source(typst_images(doc, job.attachments):walk(confine), job.typst))
    end
  end)
  if not ok then write_file(name .. ".err", tostring(err)) end
end

if #combined > 0 then
  write_file(out_dir .. "/combined.docx", pandoc.write(pandoc.Pandoc(combined), "docx", docx_options))
end
