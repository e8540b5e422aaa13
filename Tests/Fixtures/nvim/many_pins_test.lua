-- :TofuVerify! over many pins: each $/progress adds its host's line to tofu://verify (rewriting
-- every line each time costs the square of the number of pins), and the quickfix list stays
-- cheap to build (Neovim's cost per file name grows with their number), every item still
-- leading to the pin's details.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')

-- Lines written into tofu://verify, counted.
local written = 0
local set_lines = vim.api.nvim_buf_set_lines
vim.api.nvim_buf_set_lines = function(buf, first, last, strict, lines)
  if vim.api.nvim_buf_get_name(buf) == 'tofu://verify' then
    written = written + #lines
  end
  return set_lines(buf, first, last, strict, lines)
end

local function quickfix()
  local items = {}
  for _, item in ipairs(vim.fn.getqflist()) do
    items[#items + 1] = { name = vim.api.nvim_buf_get_name(item.bufnr), lnum = item.lnum, text = item.text }
  end
  return items
end

local function here()
  return {
    name = vim.api.nvim_buf_get_name(0),
    line = vim.api.nvim_get_current_line(),
    lines = H.lines(),
  }
end

H.run(function()
  H.setup({ timeout_ms = 10000 })
  local progress = H.fired.TofuVerifyProgress or 0
  local started = vim.loop.hrtime()
  H.after('TofuVerifyDone', function()
    vim.cmd('TofuVerify!')
  end, 170000)
  local elapsed = math.floor((vim.loop.hrtime() - started) / 1e6)
  local verify = H.buffer_named('tofu://verify')
  H.step('verified', {
    written = written,
    progress = (H.fired.TofuVerifyProgress or 0) - progress,
    verify_lines = #H.lines(verify),
    quickfix = quickfix(),
    elapsed_ms = elapsed,
  })

  -- The last item leads to its host's line in tofu://verify, and <CR> there to the details.
  local count = #vim.fn.getqflist()
  vim.cmd('cc ' .. count)
  local last = here()
  H.after('TofuPinShown', function()
    H.type('<CR>')
  end)
  local details = here()
  -- The first item leads to the details at once.
  vim.cmd('cc 1')
  H.step('jumped', { last = last, details = details, first = here() })
end)
