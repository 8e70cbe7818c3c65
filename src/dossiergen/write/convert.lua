-- Convert a batch of Markdown documents in one pandoc process (write/pandoc.py runs it as
-- `pandoc lua convert.lua BATCH.json OUT_DIR`). Starting pandoc costs more than converting a
-- typical document, so one process per batch replaces two per document.
-- `pandoc lua convert.lua --serve` converts one batch per line of its standard input
-- (BATCH.json, a tab, OUT_DIR), each in OUT_DIR as its working directory, and answers each with a
-- line `done` once the batch's files are written (a failure of the whole batch: OUT_DIR/batch.err).
-- A writer keeps one such process: a new process per batch cost about 50 ms (issue 19).
--
-- BATCH.json: {from, reference_doc, template, marker, landscape_marker, layout: {portrait_pt, landscape_pt}, jobs: [{markdown, alone, typst: {variables, escape, strings} | null}],
-- programs: {format: typst definitions that draw a figure from that attachment format's input},
-- exhaustive (optional: true walks through everything, without the shortcuts below; the tests compare)}
-- It writes OUT_DIR/combined.docx for the jobs not `alone`, OUT_DIR/i.docx for job i if alone,
-- OUT_DIR/i.typ when asked, and OUT_DIR/i.err when job i fails.

local SERVE = arg[1] == "--serve"
local out_dir = arg[2]  -- of the batch being converted, as is everything set by start_batch
local batch, template, docx_options, JSON_LAYOUT

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

-- No code blocks reach the documents: without highlighting styles the DOCX writer is faster.
-- columns = 1, as `--columns=1` on the command line: every pipe table gets relative widths.
local reader_options = {columns = 1}

-- Text from the data is escaped for typst, never pasted into the template raw (DESIGN.md
-- section 8): every ASCII punctuation character gets a backslash, which typst reads as that
-- character itself, and runs of white space become one space.
local function typst_text(value)
  return (value:gsub("%s+", " "):gsub("(%p)", "\\%1"))
end

-- Data as a typst string literal: typst reads back exactly the value, whatever it holds.
local function typst_string(value)
  local escaped = value:gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("\r", "\\r"):gsub("\n", "\\n")
  return '"' .. escaped .. '"'
end

-- Most blocks need no change at all, and handing each of their words to Lua is what costs: every
-- element crosses between pandoc (Haskell) and Lua, and a walk calls Lua for each word. So a
-- walk first reads a paragraph, table cell or table in one call, as the JSON text of its elements,
-- finds its words there with string functions, and goes into it only if one of them may change,
-- by the same test the word functions make (or a wider one): what is skipped would have been
-- left as it is. A Str is {"t":"Str","c":"TEXT"} in that text; JSON_LAYOUT checks it is so.
-- (pandoc's JSON writer, five times faster than pandoc.json.encode)
local function json_of(block) return pandoc.write(pandoc.Pandoc({block}), "json") end
local STR_OPEN, SPACE_BEFORE = '{"t":"Str","c":"', '{"t":"Space"},'
local JSON_KNOWN = json_of(pandoc.Plain({pandoc.Str("a"), pandoc.Space(), pandoc.Str('"')}))
  :find('"blocks":[{"t":"Plain","c":[{"t":"Str","c":"a"},{"t":"Space"},{"t":"Str","c":"\\""}]}]', 1, true) ~= nil

-- Whether test(text, previous) is true for a Str of an element or of its JSON text, of those
-- starting from `from` to `to` in the text; previous is the text of the Str before it in the same
-- list, with a Space between them (else nil). Without the expected JSON layout, every element is
-- looked into.
local function any_str(element, test, from, to)
  if not JSON_LAYOUT then return true end
  local json = type(element) == "string" and element or json_of(element)
  local pos, last = from or 1, to or #json
  local previous, previous_close  -- the Str before: its text and closing quote
  while true do
    local open = json:find(STR_OPEN, pos, true)
    if not open or open > last then return false end
    local close, escaped = open + #STR_OPEN, false
    while true do  -- the closing quote: the first one not escaped
      close = json:find('["\\]', close)
      if json:byte(close) == 34 then break end
      escaped, close = true, close + 2
    end
    local text = json:sub(open + #STR_OPEN, close - 1)
    if escaped then text = pandoc.json.decode('"' .. text .. '"') end
    local spaced = previous_close == open - #SPACE_BEFORE - 3 and json:sub(open - #SPACE_BEFORE, open - 1) == SPACE_BEFORE
    if test(text, spaced and previous or nil) then return true end
    previous, previous_close, pos = text, close, close + 1
  end
end

-- The cells of a table, read from its JSON text in the order of the table's rows (head, each
-- body's head and body, foot): {row = its row's number in that order, index = its place in the
-- row, column = its first column, span = its columns, first, last = its stretch of the text}, and
-- `caption`, the end of the stretch before the first cell (the caption's). nil when the table is
-- not laid out as read here (a cell with attributes, a table in a cell): the caller then looks at
-- each cell as pandoc hands it over.
local CELL = '%[%["",%[%],%[%]%],{"t":"Align%a+"},%d+,(%d+),%['
local ANY_CELL = '{"t":"Align%a+"},%d+,%d+,%['
local function table_cells(json)
  if not JSON_LAYOUT then return nil end
  local first_table = json:find('"t":"Table"', 1, true)
  if first_table and json:find('"t":"Table"', first_table + 1, true) then return nil end
  local cells, pos, row, index, column = {}, 1, 0, 0, 1
  while true do
    local start, stop, span = json:find(CELL, pos)
    if not start then break end
    local before = json:byte(start - 1)
    if before == 91 then row, index, column = row + 1, 0, 1  -- "[": the first cell of a row
    elseif before ~= 44 then return nil end  -- ","
    span = tonumber(span)
    index = index + 1
    if #cells > 0 then cells[#cells].last = start - 1 end
    cells[#cells + 1] = {row = row, index = index, column = column, span = span, first = stop}
    column = column + span
    pos = stop
  end
  local count, from = 0, 1
  while true do  -- every cell read (none with attributes)
    local _, stop = json:find(ANY_CELL, from)
    if not stop then break end
    count, from = count + 1, stop
  end
  if count ~= #cells then return nil end
  if #cells > 0 then cells[#cells].last = #json end
  cells.rows, cells.caption = row, #cells > 0 and json:find(CELL) - 1 or #json
  return cells
end

-- The rows of a table in the order table_cells reads them: {list, index} each.
local function table_rows(tbl)
  local rows = {}
  local function add(list) for index = 1, #list do rows[#rows + 1] = {list, index} end end
  add(tbl.head.rows)
  for _, body in ipairs(tbl.bodies) do
    add(body.head)
    add(body.body)
  end
  add(tbl.foot.rows)
  return rows
end

-- The cells (of table_cells) of which test(cell) is true, each with `element`, the cell as pandoc
-- hands it over: nil if none; false if a row has no cells (table_cells does not see it).
local function cells_where(tbl, cells, test)
  local found = {}
  for _, cell in ipairs(cells) do
    if test(cell) then found[#found + 1] = cell end
  end
  if #found == 0 then return nil end
  local rows = table_rows(tbl)
  if #rows ~= cells.rows then return false end
  for _, cell in ipairs(found) do
    local row = rows[cell.row]
    cell.element = row[1][row[2]].cells[cell.index]
  end
  return found
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

-- The inlines of a word that has `room` em to lay out in, or nil to leave it as it is. A number and
-- its unit joined by a no-break space ("1090 ppm", typography below) that is wider than its column
-- may break at that space: overrunning the column into the next one is worse than a break.
local NBSP = "\u{A0}"
-- The text with the no-break spaces of its stretches wider than `room` made breakable; a stretch
-- ends at a CJK character (typst may break there anyway), so that in Chinese text "和107.30 mg"
-- keeps its number and unit together: only a number and unit too wide for the column come apart.
local function loosen(text, room)
  local out, stretch = {}, {}
  local function flush()
    local piece = table.concat(stretch)
    if piece:find(NBSP, 1, true) and width_em(piece) > room then piece = piece:gsub(NBSP, " ") end
    out[#out + 1], stretch = piece, {}
  end
  for _, code in utf8.codes(text) do
    if code >= 0x2E80 then
      flush()
      out[#out + 1] = utf8.char(code)
    else
      stretch[#stretch + 1] = utf8.char(code)
    end
  end
  flush()
  return table.concat(out)
end

local function word(text, room)
  local ends, joined = line_end(text), text:find(NBSP, 1, true)
  if not (ends or joined or text:find("[%),%]]")) then return nil end
  if width_em(text) <= room then
    return ends and raw("#box[" .. typst_text(text) .. "];") or nil
  end
  local loosened = false
  if joined then
    local loose = loosen(text, room)
    loosened, text = loose ~= text, loose
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
  if start == 1 then return loosened and raw(typst_text(text)) or nil end
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
  return changed
end

-- Each cell's words get the room of its columns (pandoc's relative widths of the text width).
local function keep_rows(rows, rooms)
  local changed = false
  for _, row in ipairs(rows) do
    local column = 1
    for _, cell in ipairs(row.cells) do
      local room = 0
      for span = 0, cell.col_span - 1 do room = room + (rooms[column + span] or 0) end
      if keep_cell(cell, room) then changed = true end
      column = column + cell.col_span
    end
  end
  return changed
end

-- The table, or nil if no word changes (a table handed back unchanged would still be read back
-- from Lua, cell by cell). Only the cells with a word to change are taken from pandoc.
local function keep_table(tbl, text_pt, size_pt)
  local rooms = {}
  for index, spec in ipairs(tbl.colspecs) do
    local fraction = type(spec[2]) == "number" and spec[2] or 1 / #tbl.colspecs
    rooms[index] = (fraction * text_pt - 2 * INSET_PT) / size_pt
  end
  local json = JSON_LAYOUT and json_of(tbl)
  local cells = json and table_cells(json)
  local found = cells and cells_where(tbl, cells, function(cell)
    local room = 0
    for span = 0, cell.span - 1 do room = room + (rooms[cell.column + span] or 0) end
    cell.room = room
    return any_str(json, function(text) return word(text, room) ~= nil end, cell.first, cell.last)
  end)
  if found == nil then return nil end
  if found then
    local changed = false
    for _, cell in ipairs(found) do
      if keep_cell(cell.element, cell.room) then changed = true end
    end
    return changed and tbl or nil
  end
  local changed = keep_rows(tbl.head.rows, rooms)
  for _, body in ipairs(tbl.bodies) do
    if keep_rows(body.head, rooms) then changed = true end
    if keep_rows(body.body, rooms) then changed = true end
  end
  if keep_rows(tbl.foot.rows, rooms) then changed = true end
  return changed and tbl or nil  -- the caption keeps its text: it is the table's bookmark
end

-- Words of body text up to a third of a line are kept whole. Headings and captions are left as
-- they are: bookmarks and the outline take their text, which a box would hide. A Div of class
-- `landscape` (a wide table) becomes a landscape page (document.typ's `landscape`).
local function keep_blocks(blocks, text_pt, sizes)
  local room = text_pt / sizes.body / 3
  -- A paragraph is looked into if a word may change; or if it holds a table, heading or Div (in a
  -- note), whose words the walk treats otherwise.
  local function look(block)
    local json = json_of(block)
    if json:find('"t":"Table"', 1, true) or json:find('"t":"Header"', 1, true) or json:find('"t":"Div"', 1, true) then
      return nil
    end
    if not any_str(json, function(text) return word(text, room) ~= nil end) then return nil, false end
  end
  return blocks:walk({
    traverse = "topdown",
    Header = function() return nil, false end,
    Para = look,
    Plain = look,
    Table = function(tbl) return keep_table(tbl, text_pt, sizes.table), false end,
    Div = function(div)
      if not div.classes:includes("landscape") then return nil end
      local out = pandoc.Blocks({pandoc.RawBlock("typst", "#landscape[")})
      out:extend(keep_blocks(div.content, batch.layout.landscape_pt, sizes))
      out:insert(pandoc.RawBlock("typst", "]"))
      return out, false
    end,
    Str = function(str) return word(str.text, room) end,
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

-- Whether typeset_str changes a word, or units joins it to the word before it (after a Space).
local function may_change(text, previous)
  if text:find("%-%d") and minus_signs(text) ~= text then return true end
  if text:find("[%a%)]%d") and formula(text) then return true end
  if text:find("%d%^[\u{2212}%-]?%d") then return true end  -- (scripts' pattern)
  return previous ~= nil and ((previous:match("%d$") and unit_follows(text))
    or (previous:match("%a$") and suffix_follows(text))) or false
end

local typeset = {
  traverse = "topdown",
  Header = function(header)  -- no-break spaces only
    local joined = units(header.content)
    if joined then header.content = joined; return header, false end
    return nil, false
  end,
  Inlines = units,
  Str = typeset_str,
}

-- A list of words, spaces and line breaks only, typeset as the walk does it: the list, then each word
-- (nothing the words become needs more: a subscript's or superscript's digits stay as they are).
local function typeset_flat(inlines)
  local joined = units(inlines)
  local out, changed = pandoc.Inlines({}), joined ~= nil
  for _, inline in ipairs(joined or inlines) do
    local done = inline.t == "Str" and typeset_str(inline)
    if done then
      changed = true
      if done.t then out:insert(done) else out:extend(done) end
    else
      out:insert(inline)
    end
  end
  return changed and out or nil
end

-- Whether a stretch of JSON text holds only paragraphs of words, spaces and line breaks.
local FLAT = {Plain = true, Para = true, Str = true, Space = true, SoftBreak = true, LineBreak = true}
local function flat(json, first, last)
  local pos = first
  while true do
    local start, stop, tag = json:find('"t":"(%a+)"', pos)
    if not start or start > last then return true end
    if not FLAT[tag] then return false end
    pos = stop + 1
  end
end

-- A table: its caption and the cells where something changes, each as the walk would do it (a cell
-- of words only by hand: a walk per cell costs a tenth of a millisecond).
local function typeset_table(tbl)
  local json = json_of(tbl)
  if not any_str(json, may_change) then return nil, false end
  local cells = table_cells(json)
  local found = cells and cells_where(tbl, cells, function(cell) return any_str(json, may_change, cell.first, cell.last) end)
  if found == false or not cells then return nil end  -- the walk goes through it
  local changed = false
  if any_str(json, may_change, 1, cells.caption) then
    local caption = tbl.caption
    caption.long = caption.long:walk(typeset)
    if caption.short then caption.short = caption.short:walk(typeset) end
    tbl.caption, changed = caption, true
  end
  for _, cell in ipairs(found or {}) do
    local element = cell.element
    if flat(json, cell.first, cell.last) then
      local blocks = element.contents
      for _, block in ipairs(blocks) do
        local done = typeset_flat(block.content)
        if done then block.content = done end
      end
      element.contents = blocks
    else
      element.contents = element.contents:walk(typeset)
    end
    changed = true
  end
  if changed then return tbl, false end
  return nil, false
end

local function typography(blocks)  -- one walk: each list of inlines, then its words
  local function look(block)  -- paragraphs where nothing changes are skipped
    if not any_str(block, may_change) then return nil, false end
  end
  return blocks:walk({
    traverse = "topdown",
    Header = typeset.Header,
    Para = look,
    Plain = look,
    Table = JSON_LAYOUT and typeset_table or nil,
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
  for _, name in ipairs(settings.strings or {}) do variables[name] = typst_string(settings.variables[name]) end
  local sizes = {body = 12, table = tonumber(settings.variables["table-size"]:match("[%d.]+"))}
  local kept = pandoc.Pandoc(keep_blocks(doc.blocks, batch.layout.portrait_pt, sizes), doc.meta)
  return pandoc.write(kept, "typst", {template = template, variables = variables, columns = 1, wrap_text = "wrap-none"})
end

-- Attachments (dossiergen/attach.py): an image `attachment:NAME` is the job's file NAME. The DOCX
-- embeds its PNG (through the media bag); the typst source draws a figure the project draws (typst_images),
-- else embeds its SVG as bytes in the source
-- (or, without an SVG, the PNG's bytes), so typst needs no file access. A name without its file
-- is an error of the job.
local function attachment_of(img, files)
  local name = img.src:match("^attachment:(.+)$")
  if not name then return nil end
  local found = files and files[name]
  if not found then error("attachment " .. name .. " was not passed with its document") end
  return name, found
end

-- Images not from the media bag (confine, below) are guarded by a second walk, when there are any:
-- once all of the document's attachments are in.
local confine

local function docx_images(doc, files)
  local unguarded = false
  doc = doc:walk({Image = function(img)
    local name, found = attachment_of(img, files)
    if not name then
      unguarded = unguarded or not pandoc.mediabag.lookup(img.src)
      return nil
    end
    if not found.png then error("attachment " .. name .. " has no PNG for the DOCX") end
    pandoc.mediabag.insert(name .. ".png", "image/png", read_file(found.png, "rb"))
    img.src = name .. ".png"
    return img
  end})
  return unguarded and doc:walk(confine) or doc
end

local function typst_figures(doc)
  return doc:walk({Div = function(div)
    if div.classes:includes("dossiergen-figure") then  -- attach.py: the image with its caption, unbroken
      -- its bookmark and contents line: an invisible heading with the caption, as a table's (document.typ).
      -- Not a float: typst's float may place the figure at the bottom of a page whose remaining room it
      -- takes, pushing its own heading to the next page (a trend figure above its Q1E heading).
      local caption = ""
      div:walk({Div = function(inner)
        if inner.attributes["custom-style"] == "Image Caption" then caption = pandoc.utils.stringify(inner) end
      end})
      local blocks = pandoc.Blocks({pandoc.RawBlock("typst", "#block(breakable: false)[")})
      if caption ~= "" then  -- inside the block: the bookmark goes to the page the figure is on
        blocks:insert(pandoc.RawBlock("typst", "#heading(level: 4, supplement: [caption], outlined: true, bookmarked: true, "
          .. typst_string(caption) .. ")"))
      end
      blocks:extend(div.content)
      blocks:insert(pandoc.RawBlock("typst", "]"))
      return blocks
    end
  end})
end

-- A figure the project draws (plots.py, flow.py: an attachment with a "trend" or "flow" input) is
-- drawn by the same fixed typst program as its PNG, defined once at the top of the document's
-- source (batch.programs, by format): its text is text in the PDF. Its input, JSON, reaches typst
-- as a string literal (typst_string), never as source.
local function typst_images(doc, files)
  local unguarded, used = false, {}
  doc = doc:walk({Image = function(img)
    local name, found = attachment_of(img, files)
    if not name then
      unguarded = unguarded or not pandoc.mediabag.lookup(img.src)
      return nil
    end
    local alt = typst_string(pandoc.utils.stringify(img.caption or {}))
    for _, program in ipairs({"trend", "flow"}) do
      if found[program] then
        if not used[program] then used[#used + 1] = program; used[program] = true end
        return pandoc.RawInline("typst", "#box(width: 100%, figure(dossiergen-" .. program .. "(json(bytes("
          .. typst_string(read_file(found[program], "rb")) .. ")), fit: true), alt: " .. alt
          .. ", kind: image, supplement: none))")
      end
    end
    local source
    if found.svg then
      source = "bytes(" .. typst_string(read_file(found.svg, "rb")) .. "), format: \"svg\""
    else
      local data, codes = read_file(found.png, "rb"), {}
      for i = 1, #data do codes[i] = tostring(data:byte(i)) end
      source = "bytes((" .. table.concat(codes, ",") .. ")), format: \"png\""
    end
    return pandoc.RawInline("typst", "#image(" .. source .. ", width: 100%, alt: " .. alt .. ")")
  end})
  for index, program in ipairs(used) do
    doc.blocks:insert(index, pandoc.RawBlock("typst", batch.programs[program]))
  end
  return unguarded and doc:walk(confine) or doc
end

-- Nothing outside the batch is read or fetched: an image not already in the media bag (put
-- there by the caller from a checked dossier file) would make the DOCX writer read a path or
-- fetch a URL, and the typst source read a path; it is shown as its description and file name.
-- Validation refuses such images before a build (rules/formats.py); this is the last guard.
confine = {Image = function(img)
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

-- Whether the Markdown may hold a list of LONG inlines: each inline takes at least one character
-- of its text, and a paragraph (or table, or line of metadata) has no blank line in it. In a
-- stretch whose lines all start with "| " but the second, |:---|---|... (a pipe table), a list
-- is one cell.
local function may_be_long(markdown)
  local start = 1
  while true do
    local blank = markdown:find("\n\n", start, true)
    local stop = (blank or #markdown + 1) - 1
    if stop - start + 1 >= LONG then
      local line, number = start, 1
      while line <= stop do
        local ends = markdown:find("\n", line, true)
        ends = (ends and ends <= stop) and ends - 1 or stop
        local text = markdown:sub(line, ends)
        if ends - line + 1 >= LONG then return true end
        if number == 2 then
          if not text:match("^|[:%-|]*%-[:%-|]*$") then return true end
        elseif text:sub(1, 2) ~= "| " then
          return true
        end
        line, number = ends + 2, number + 1
      end
    end
    if not blank then return false end
    start = blank + 2
  end
end

-- Which walks a document needs, read from its Markdown: an image is only ever written `![`
-- (raw HTML is off), and a Div `:::` or `<div`.
local function needs(markdown)
  if batch.exhaustive then return {images = true, divs = true, long = true} end
  return {images = markdown:find("![", 1, true) ~= nil,
          divs = markdown:find(":::", 1, true) ~= nil or markdown:find("<[dD][iI][vV]") ~= nil,
          long = may_be_long(markdown)}
end

local templates = {}  -- compiled, by their text

local function start_batch(batch_path, out)
  batch, out_dir = pandoc.json.decode(read_file(batch_path), false), out
  local text = read_file(batch.template)
  templates[text] = templates[text] or pandoc.template.compile(text)
  template = templates[text]
  docx_options = {reference_doc = batch.reference_doc, columns = 1, highlight_method = "none"}
  JSON_LAYOUT = not batch.exhaustive and JSON_KNOWN
end

-- DOCX: the documents are written as one DOCX, each after a marker heading, and write/split.py
-- cuts it into one DOCX per document: the DOCX writer's fixed cost (about 15 ms: it reads and
-- merges the reference document) is paid once per batch. A job marked `alone` gets its own DOCX.
local function convert(batch_path, out)
  start_batch(batch_path, out)
  local combined = pandoc.Blocks({})

  for index, job in ipairs(batch.jobs) do
    local name = out_dir .. "/" .. tostring(index - 1)
    local ok, err = pcall(function()
      local doc = pandoc.read(job.markdown, batch.from, reader_options)
      local has = needs(job.markdown)
      doc.blocks = typography(landscape_regions(doc.blocks))
      local for_docx = has.images and docx_images(doc, job.attachments) or doc
      if has.long then for_docx = for_docx:walk(merge_long) end  -- not for typst: its writer is slow on one long Str
      local blocks = docx_blocks(for_docx.blocks)
      if not job.alone then
        combined:insert(pandoc.Header(1, batch.marker .. tostring(index - 1)))
        combined:extend(blocks)
      else
        write_file(name .. ".docx", pandoc.write(pandoc.Pandoc(blocks, doc.meta), "docx", docx_options))
      end
      if job.typst ~= pandoc.json.null and job.typst ~= nil then
        local for_typst = has.divs and typst_figures(doc) or doc
        if has.images then for_typst = typst_images(for_typst, job.attachments) end
        write_file(name .. ".typ", typst_source(for_typst, job.typst))
      end
    end)
    if not ok then write_file(name .. ".err", tostring(err)) end
  end

  if #combined > 0 then
    write_file(out_dir .. "/combined.docx", pandoc.write(pandoc.Pandoc(combined), "docx", docx_options))
  end
end

if not SERVE then
  convert(arg[1], arg[2])
else
  for line in io.lines() do
    local batch_path, out = line:match("^(.-)\t(.*)$")
    local ok, err = pcall(pandoc.system.with_working_directory, out, function() convert(batch_path, out) end)
    if not ok then write_file(out .. "/batch.err", tostring(err)) end
    io.stdout:write("done\n")
    io.stdout:flush()
  end
end
