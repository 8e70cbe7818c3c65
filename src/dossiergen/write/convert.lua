-- Convert a batch of Markdown documents in one pandoc process (write/pandoc.py runs it as
-- `pandoc lua convert.lua BATCH.json OUT_DIR`). Starting pandoc costs more than converting a
-- typical document, so one process per batch replaces two per document.
--
-- BATCH.json: {from, reference_doc, template, marker, landscape_marker, layout: {portrait_pt, landscape_pt}, jobs: [{markdown, alone, typst: {variables, escape} | null}]}
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

-- Line breaking that leaves the text layer as written, so that a search for "SE-HPLC" finds it.
-- typst breaks lines after - / – — by itself, and a term broken there is no longer found (text
-- extraction drops a hyphen that ends a line). So a word with such a character that fits its
-- column is kept whole in a box; a longer one (a chemical name) gets break opportunities after
-- - / ) ] , – — (never before a digit, so that batch numbers and numbers stay whole) from empty
-- boxes, which add nothing to the text layer, unlike a zero-width space. Done on pandoc's tree,
-- not with a typst regex show rule, which tripled typst's time on large tables; a word without
-- those characters is left as it is (returning nil is cheaper).
local BREAK_AFTER = {[0x2D] = true, [0x2F] = true, [0x29] = true, [0x5D] = true, [0x2C] = true,
                     [0x2010] = true, [0x2013] = true, [0x2014] = true}
-- Where typst breaks by itself: - / and the dashes (searched for one by one: Lua's patterns
-- work on bytes, and a class of multibyte characters would match their bytes).
local function line_end(text)
  return text:find("[%-/]") or text:find("\u{2010}", 1, true) or text:find("\u{2013}", 1, true)
      or text:find("\u{2014}", 1, true)
end
local INSET_PT = 4  -- a table cell's inset, left and right (document.typ)

-- A word's width in em, on the safe side, measured as tables.py's em_width does.
local NARROW = {}
for _, code in utf8.codes(" .,;:'|!ijlrtf()[]/-\u{B7}") do NARROW[code] = true end
local WIDE = {}
for _, code in utf8.codes("%@&WMm") do WIDE[code] = true end

local function width_em(text)
  local em = 0
  for _, code in utf8.codes(text) do
    if code >= 0x2E80 then em = em + 1.0
    elseif NARROW[code] then em = em + 0.34
    elseif WIDE[code] or (code >= 0x41 and code <= 0x5A) then em = em + 0.74
    else em = em + 0.5 end
  end
  return em
end

local function raw(text) return pandoc.RawInline("typst", text) end

-- The inlines of a word that has `room` em to lay out in, or nil to leave it as it is.
local function word(text, room)
  local ends = line_end(text)
  if not (ends or text:find("[%),%]]")) then return nil end
  if width_em(text) <= room then
    return ends and raw("#box[" .. typst_text(text) .. "];") or nil
  end
  -- The pieces are escaped here: after a box, pandoc's "-3" would read as typst's minus sign.
  local pieces, start = {}, 1
  for pos, code in utf8.codes(text) do
    local after = pos + #utf8.char(code)
    if BREAK_AFTER[code] and after <= #text and not text:sub(after, after):match("%d") then
      pieces[#pieces + 1] = typst_text(text:sub(start, after - 1))
      start = after
    end
  end
  if start == 1 then return nil end
  pieces[#pieces + 1] = typst_text(text:sub(start))
  return raw(table.concat(pieces, "#box();"))
end

-- The words of a cell, by hand rather than with walk: walking each cell of a large table
-- costs more than the rest of the conversion.
local function keep_inlines(inlines, room)
  local changed = false
  for index, inline in ipairs(inlines) do
    if inline.t == "Str" then
      local kept = word(inline.text, room)
      if kept then inlines[index], changed = kept, true end
    elseif inline.content ~= nil and type(inline.content) ~= "string" then  -- Emph, Strong, Span, Link ...
      local content = inline.content
      if keep_inlines(content, room) then inline.content, changed = content, true end
    end
  end
  return changed
end

local function keep_cell(cell, room)
  local blocks, changed = cell.contents, false
  for _, block in ipairs(blocks) do
    if block.t == "Plain" or block.t == "Para" then
      local content = block.content
      if keep_inlines(content, room) then block.content, changed = content, true end
    end
  end
  if changed then cell.contents = blocks end
end

-- Each cell's words get the room of its columns (pandoc's relative widths of the text width).
local function keep_rows(rows, rooms)
  for _, row in ipairs(rows) do
    local column = 1
    for _, cell in ipairs(row.cells) do
      local room = 0
      for span = 0, cell.col_span - 1 do room = room + (rooms[column + span] or 0) end
      keep_cell(cell, room)
      column = column + cell.col_span
    end
  end
end

local function keep_table(tbl, text_pt, size_pt)
  local rooms = {}
  for index, spec in ipairs(tbl.colspecs) do
    local fraction = type(spec[2]) == "number" and spec[2] or 1 / #tbl.colspecs
    rooms[index] = (fraction * text_pt - 2 * INSET_PT) / size_pt
  end
  keep_rows(tbl.head.rows, rooms)
  for _, body in ipairs(tbl.bodies) do
    keep_rows(body.head, rooms)
    keep_rows(body.body, rooms)
  end
  keep_rows(tbl.foot.rows, rooms)
  return tbl  -- the caption keeps its text: it is the table's bookmark
end

-- Words of body text up to a third of a line are kept whole. Headings and captions are left as
-- they are: bookmarks and the outline take their text, which a box would hide. A Div of class
-- `landscape` (a wide table) becomes a landscape page (document.typ's `landscape`).
local function keep_blocks(blocks, text_pt, sizes)
  return blocks:walk({
    traverse = "topdown",
    Header = function(header) return header, false end,
    Table = function(tbl) return keep_table(tbl, text_pt, sizes.table), false end,
    Div = function(div)
      if not div.classes:includes("landscape") then return nil end
      local out = pandoc.Blocks({pandoc.RawBlock("typst", "#landscape[")})
      out:extend(keep_blocks(div.content, batch.layout.landscape_pt, sizes))
      out:insert(pandoc.RawBlock("typst", "]"))
      return out, false
    end,
    Str = function(str) return word(str.text, text_pt / sizes.body / 3) end,
  })
end

-- Typography for both writers (Word and typst): true minus signs, sub- and superscripts (CO2, 10^3), and a
-- no-break space between a number and its unit in written text (render.py formats data values
-- so already). Headings are left as written: they are bookmarks and outline entries.
-- Formulas written with plain digits whose digits are subscripts (CO2 -> CO₂). A list, not a
-- guess: codes such as VCT-SM1, IL-23 or C18 must stay as written.
local FORMULAS = {}
for name in ([[CO2 O2 N2 H2 H2O H2O2 D2O SO2 NO2 N2O Cl2 CH4 NH3 NH4 H2SO4 H3PO4 HNO3 NaH2PO4 Na2HPO4
  KH2PO4 K2HPO4 Na3PO4 K3PO4 CaCl2 MgCl2 ZnCl2 FeCl3 MnCl2 CoCl2 CuCl2 Na2CO3 K2CO3 CaCO3 MgSO4 CuSO4
  ZnSO4 FeSO4 Na2SO4 K2SO4 (NH4)2SO4 Na2S2O3 Na2S2O5 Na2EDTA TiO2 SiO2 Al2O3 Fe2O3 Fe3O4 ZnO2 CH3CN
  CH3OH C2H5OH CH2Cl2 CHCl3 CCl4 CH3COOH CF3COOH NaBH4 LiAlH4 Pd(OH)2 Mg(OH)2 Al(OH)3 Ca(OH)2]]):gmatch("%S+") do
  FORMULAS[name] = true
end
local UNITS = {}
for name in ([[°C % ‰ mg g kg µg μg ng pg fg mL L µL μL nL dL mm cm nm µm μm mM µM μM nM mol mmol µmol
  kDa Da ppm ppb IU kIU mIU U kU mU cP mPa bar kPa MPa Pa rpm mOsm mOsmol CFU EU kGy Gy lx W h min s
  ms µs Hz kHz MHz V kV mV mA µA µS mS S cm⁻¹ log mAU AU]]):gmatch("%S+") do
  UNITS[name] = true
end
local NBSP = "\u{A0}"
local MINUS = "\u{2212}"

local function minus_signs(text)
  text = text:gsub("^%-(%d)", MINUS .. "%1"):gsub("([%(%[])%-(%d)", "%1" .. MINUS .. "%2")
  for _, sign in ipairs({"≤", "≥", "±", "<", ">", "=", "~", NBSP}) do
    text = text:gsub(sign .. "%-(%d)", sign .. MINUS .. "%1")
  end
  return text
end

-- Splits text at powers written with a caret (10^6, 10^-5) into Str and Superscript. Unicode
-- super- and subscripts (10⁶, M⁻¹, H₂O) stay as typed: the text layer keeps them, and typst takes
-- the glyphs Liberation lacks from its own fonts.
local function scripts(text)
  local out, start = {}, 1
  for before, power, after in text:gmatch("()%d%^([\u{2212}%-]?%d+)()") do
    out[#out + 1] = pandoc.Str(text:sub(start, before))
    out[#out + 1] = pandoc.Superscript({pandoc.Str((power:gsub("^%-", MINUS)))})
    start = after
  end
  if start == 1 then return nil end
  if start <= #text then out[#out + 1] = pandoc.Str(text:sub(start)) end
  return out
end

local function formula(text)
  local before, core, after = text:match("^([%(%[]?)(.-)([%.,;:%)%]]*)$")
  if not (core and FORMULAS[core]) then
    before, core, after = "", text:match("^(.-)([%.,;:%)%]]*)$")
    if not (core and FORMULAS[core]) then return nil end
  end
  local out = {}
  if before ~= "" then out[#out + 1] = pandoc.Str(before) end
  local start = 1
  for first, digits, last in core:gmatch("()(%d+)()") do
    if first > start then out[#out + 1] = pandoc.Str(core:sub(start, first - 1)) end
    out[#out + 1] = pandoc.Subscript({pandoc.Str(digits)})
    start = last
  end
  if start <= #core then out[#out + 1] = pandoc.Str(core:sub(start)) end
  if after ~= "" then out[#out + 1] = pandoc.Str(after) end
  return out
end

local function typeset_str(str)
  local text = str.text
  if text:find("%-%d") then text = minus_signs(text) end  -- cheap tests first: most words need nothing
  local found = text:find("[%a%)]%d") and formula(text)
  if found then return found end
  if text:find("%d%^") then
    local split = scripts(text)
    if split then return split end
  end
  if text ~= str.text then return pandoc.Str(text) end
end

-- A name with a one-letter or roman-numeral suffix stays on one line: Protein A, Type I, Class B.
local function suffix_follows(text)
  local core = text:match("^(.-)[,;:%.%)]?$")
  -- (in Chinese text the suffix runs into the next word: "Protein A洗脱液")
  return core ~= nil and (core:match("^%u$") or core:match("^[IVX]+$") or text:match("^%u[\128-\255]")) ~= nil
end

local function unit_follows(text)
  local token, rest = text:match("^([^%s/,;:%.%)%]]+)(.*)$")
  return token ~= nil and UNITS[token] and (rest == "" or rest:match("^[/,;:%.%)%]]")) ~= nil
end

local function units(inlines)
  local any = false
  for index = 3, #inlines do
    local this = inlines[index]
    if this.t == "Str" and inlines[index - 1].t == "Space" and inlines[index - 2].t == "Str"
        and (unit_follows(this.text) or suffix_follows(this.text)) then
      any = true
      break
    end
  end
  if not any then return nil end
  local out, changed = pandoc.Inlines({}), false
  for index, this in ipairs(inlines) do
    local last, gap = out[#out], inlines[index - 1]
    if this.t == "Str" and gap and gap.t == "Space" and last and last.t == "Space" and #out >= 2
        and out[#out - 1].t == "Str" and ((out[#out - 1].text:match("%d$") and unit_follows(this.text))
          or (out[#out - 1].text:match("%a$") and suffix_follows(this.text))) then
      out:remove()  -- the space
      out[#out] = pandoc.Str(out[#out].text .. NBSP .. this.text)
      changed = true
    else
      out:insert(this)
    end
  end
  if changed then return out end
end

local function typography(blocks)  -- one walk: each list of inlines, then its words
  return blocks:walk({
    traverse = "topdown",
    Header = function(header)  -- no-break spaces only
      header.content = units(header.content) or header.content
      return header, false
    end,
    Inlines = units,
    Str = typeset_str,
  })
end

-- Landscape regions (Divs of class `landscape`, render.py): nested ones are dropped into their
-- parent, and neighbours merge, so that one run of wide tables is one run of landscape pages.
local function is_landscape(block) return block.t == "Div" and block.classes:includes("landscape") end

-- A document whose first table is landscape starts landscape (its heading and opening lines go
-- with it rather than stand alone on a portrait page).
local LEAD_IN = 3  -- blocks at most before the first landscape region: heading, instance line, a sentence

local function landscape_regions(blocks)
  local out = pandoc.Blocks({})
  local first = nil
  for index, block in ipairs(blocks) do
    if is_landscape(block) then first = index break end
    if block.t == "Table" or block.t == "Figure" then break end
  end
  if first and first > 1 and first <= LEAD_IN + 1 then
    local lead = pandoc.Blocks({})
    for index = 1, first - 1 do lead:insert(blocks[index]) end
    blocks[first].content = lead .. blocks[first].content
    blocks = pandoc.Blocks({table.unpack(blocks, first)})
  end
  for _, block in ipairs(blocks) do
    if is_landscape(block) then
      local inner = block.content:walk({Div = function(div)
        if is_landscape(div) then return div.content end
      end})
      if #out > 0 and is_landscape(out[#out]) then
        out[#out].content:extend(inner)
      else
        block.content = inner
        out:insert(block)
      end
    else
      out:insert(block)
    end
  end
  return out
end

-- DOCX: a landscape region lies between two marker paragraphs, which write/docx.py turns into
-- section breaks.
local function docx_blocks(blocks)
  local out = pandoc.Blocks({})
  for _, block in ipairs(blocks) do
    if is_landscape(block) then
      out:insert(pandoc.Para({pandoc.Str(batch.landscape_marker .. "start")}))
      out:extend(block.content)
      out:insert(pandoc.Para({pandoc.Str(batch.landscape_marker .. "end")}))
    else
      out:insert(block)
    end
  end
  return out
end

local function typst_source(doc, settings)
  local variables = {}
  for name, value in pairs(settings.variables) do variables[name] = value end
  for _, name in ipairs(settings.escape) do variables[name] = typst_text(settings.variables[name]) end
  local sizes = {body = 12, table = tonumber(settings.variables["table-size"]:match("[%d.]+"))}
  local kept = pandoc.Pandoc(keep_blocks(doc.blocks, batch.layout.portrait_pt, sizes), doc.meta)
  return pandoc.write(kept, "typst", {template = template, variables = variables, columns = 1, wrap_text = "wrap-none"})
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
      -- its bookmark and contents line: an invisible heading with the caption, as a table's (document.typ).
      -- A float: a figure that does not fit below the text goes to the top of the next page while the
      -- text after it fills this one (no half-empty page before a large figure).
      local caption = ""
      div:walk({Div = function(inner)
        if inner.attributes["custom-style"] == "Image Caption" then caption = pandoc.utils.stringify(inner) end
      end})
      local blocks = pandoc.Blocks({pandoc.RawBlock("typst", "#place(auto, float: true, clearance: 1.2em)[#block(breakable: false)[")})
      if caption ~= "" then  -- inside the block: the bookmark goes to the page the figure is on
        blocks:insert(pandoc.RawBlock("typst", "#heading(level: 4, supplement: [caption], outlined: true, bookmarked: true, "
          .. typst_string(caption) .. ")"))
      end
      blocks:extend(div.content)
      blocks:insert(pandoc.RawBlock("typst", "]]"))
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
    doc.blocks = typography(landscape_regions(doc.blocks))
    local for_docx = docx_images(doc, job.attachments):walk(confine):walk(merge_long)  -- not for typst: its writer is slow on one long Str
    local blocks = docx_blocks(for_docx.blocks)
    if not job.alone then
      combined:insert(pandoc.Header(1, batch.marker .. tostring(index - 1)))
      combined:extend(blocks)
    else
      write_file(name .. ".docx", pandoc.write(pandoc.Pandoc(blocks, doc.meta), "docx", docx_options))
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
