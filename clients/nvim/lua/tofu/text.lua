-- Text from tofu-rpc made safe to show, and the small formatting words every view shares.
--
-- Certificate subjects, issuers and SANs are chosen by whoever made the certificate. The rule
-- is the CLI's (Sources/tofu/TerminalText.swift) and tofu.sh's: every control character
-- (U+0000-U+001F, U+007F-U+009F), bidirectional formatting character (U+061C, U+200E, U+200F,
-- U+202A-U+202E, U+2066-U+2069), the line and paragraph separators and the invisible
-- (default-ignorable) characters of the Basic Multilingual Plane are shown as `\xNN` below
-- U+0100 and `\uNNNN` above, so `CN = ko\u200Bng` never passes for `CN = kong` and no line of
-- a buffer can be forged; a backslash is shown as `\\`, so every backslash shown begins an
-- escape (the text `\u200B` shows as `\\u200B`). Bytes that are not UTF-8 are shown as `\xNN`.
local M = {}

local function must_escape(cp)
  return cp <= 0x1F
    or (cp >= 0x7F and cp <= 0x9F)
    or cp == 0xAD
    or cp == 0x034F
    or cp == 0x061C
    or cp == 0x115F
    or cp == 0x1160
    or cp == 0x17B4
    or cp == 0x17B5
    or (cp >= 0x180B and cp <= 0x180F)
    or (cp >= 0x200B and cp <= 0x200F)
    or (cp >= 0x2028 and cp <= 0x202E)
    or (cp >= 0x2060 and cp <= 0x206F)
    or cp == 0x3164
    or (cp >= 0xFE00 and cp <= 0xFE0F)
    or cp == 0xFEFF
    or cp == 0xFFA0
    or (cp >= 0xFFF0 and cp <= 0xFFF8)
end

-- The code point at byte i of s and its length in bytes, or nil when the bytes there are not
-- well-formed UTF-8.
local function decode(s, i)
  local b = s:byte(i)
  if b < 0x80 then
    return b, 1
  end
  local length, cp, least
  if b >= 0xC2 and b <= 0xDF then
    length, cp, least = 2, b - 0xC0, 0x80
  elseif b >= 0xE0 and b <= 0xEF then
    length, cp, least = 3, b - 0xE0, 0x800
  elseif b >= 0xF0 and b <= 0xF4 then
    length, cp, least = 4, b - 0xF0, 0x10000
  else
    return nil
  end
  for k = 1, length - 1 do
    local c = s:byte(i + k)
    if not c or c < 0x80 or c > 0xBF then
      return nil
    end
    cp = cp * 64 + (c - 0x80)
  end
  if cp < least or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then
    return nil
  end
  return cp, length
end

--- `value` as text safe to put in a buffer line or a message (nil and JSON null: empty).
function M.escape(value)
  value = M.value(value)
  if value == nil then
    return ''
  end
  local s = type(value) == 'string' and value or tostring(value)
  local out, i, n = {}, 1, #s
  while i <= n do
    local cp, length = decode(s, i)
    if not cp then
      out[#out + 1] = string.format('\\x%02X', s:byte(i))
      i = i + 1
    else
      if cp == 0x5C then
        out[#out + 1] = '\\\\'
      elseif must_escape(cp) then
        out[#out + 1] = cp < 0x100 and string.format('\\x%02X', cp) or string.format('\\u%04X', cp)
      else
        out[#out + 1] = s:sub(i, i + length - 1)
      end
      i = i + length
    end
  end
  return table.concat(out)
end

--- Whether `s` is well-formed UTF-8, which JSON needs: tofu-rpc answers anything else with a
--- parse error that names no request, so the call it was would never end.
function M.is_utf8(s)
  local i, n = 1, #s
  while i <= n do
    local cp, length = decode(s, i)
    if not cp then
      return false
    end
    i = i + length
  end
  return true
end

--- Escaped text cut to `limit` characters (default 120), saying how much was left out: a
--- certificate's subject is chosen by whoever made it, and one of kilobytes would push what
--- the operator must read (a fingerprint, a serial) behind a --More-- prompt.
function M.brief(value, limit)
  limit = limit or 120
  local escaped = M.escape(value)
  local length = vim.fn.strchars(escaped)
  if length <= limit then
    return escaped
  end
  return string.format('%s... (%d more characters)', vim.fn.strcharpart(escaped, 0, limit), length - limit)
end

--- nil for JSON null, whichever way this Neovim decodes it (0.7 drops null object members,
--- newer releases give vim.NIL).
function M.value(v)
  if v == vim.NIL then
    return nil
  end
  return v
end

--- The field `key` of a decoded JSON object, nil when absent or null.
function M.field(object, key)
  object = M.value(object)
  if type(object) ~= 'table' then
    return nil
  end
  return M.value(object[key])
end

--- PI's line for a pin: `host=<key>;  subject=<subject>` (two spaces after the semicolon).
function M.pi_line(pin)
  return 'host=' .. M.escape(M.field(pin, 'host')) .. ';  subject=' .. M.escape(M.field(pin, 'subject'))
end

--- An error answer as one line for the operator: tofu-rpc's own message (it never echoes a
--- password), escaped.
function M.error_message(err)
  if type(err) ~= 'table' then
    return M.escape(err)
  end
  return M.escape(err.message or ('error ' .. tostring(err.code)))
end

--- Shows `message` with the plugin's prefix, through vim.notify (which a UI plugin may replace).
function M.notify(message, level)
  vim.notify('tofu: ' .. message, level or vim.log.levels.INFO)
end

return M
