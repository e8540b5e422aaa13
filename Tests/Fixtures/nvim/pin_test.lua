-- :TofuPin KEY from the current buffer's PEM: pinned, matched, refused (another pin), staged
-- with :TofuPin!, the block under the cursor of a chain, and a buffer with no certificate.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')

-- A new buffer holding `lines`, with the cursor on line `cursor`.
local function buffer(lines, cursor)
  vim.cmd('enew')
  vim.api.nvim_buf_set_lines(0, 0, -1, false, lines)
  vim.api.nvim_win_set_cursor(0, { cursor or 1, 0 })
end

local function pem_lines(pem)
  return vim.split(vim.trim(pem), '\n')
end

local function pin(command)
  H.after('TofuPinDone', function()
    vim.cmd(command)
  end)
  return H.take_notes()
end

H.run(function()
  H.setup()
  local p = H.params
  local first = vim.list_extend({ 'The controller certificate, as its administrator sent it:', '' }, pem_lines(p.first))
  buffer(first, 1)
  H.step('pinned', { notes = pin('TofuPin ' .. p.key) })
  H.step('matched', { notes = pin('TofuPin ' .. p.key) })

  buffer(pem_lines(p.second), 3)
  H.step('refused', { notes = pin('TofuPin ' .. p.key) })
  H.step('staged', { notes = pin('TofuPin! ' .. p.key) })

  -- A chain: the second block holds the cursor, so the second certificate is pinned.
  local chain = pem_lines(p.first)
  local second_start = #chain + 2
  chain[#chain + 1] = ''
  vim.list_extend(chain, pem_lines(p.second))
  buffer(chain, second_start + 2)
  H.step('block-under-cursor', { notes = pin('TofuPin ' .. p.other) })

  buffer({ 'no certificate here' }, 1)
  H.step('no-certificate', { notes = pin('TofuPin ' .. p.third) })
end)
