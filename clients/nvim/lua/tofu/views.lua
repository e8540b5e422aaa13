-- Scratch buffers of the plugin: named tofu://…, not files, never written, read-only to the
-- operator; their content is replaced as a whole when the store answers.
local M = {}

--- The buffer named exactly `name`, or -1 (bufnr() would take `name` as a pattern, and
--- tofu://history would find tofu://history/<key>).
function M.find(name)
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(buf) == name then
      return buf
    end
  end
  return -1
end

--- The buffer named `name`, made if need be, with the options of a tofu view.
function M.buffer(name)
  local buf = M.find(name)
  if buf == -1 then
    buf = vim.api.nvim_create_buf(true, true)
    vim.api.nvim_buf_set_name(buf, name)
  end
  M.prepare(buf)
  return buf
end

--- Gives `buf` the options of a tofu view.
function M.prepare(buf)
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'hide'
  vim.bo[buf].swapfile = false
  vim.bo[buf].filetype = 'tofu'
  vim.bo[buf].modifiable = false
end

--- Replaces the lines of `buf` (a view stays unmodifiable for the operator).
function M.set_lines(buf, lines)
  if not vim.api.nvim_buf_is_valid(buf) then
    return
  end
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
end

--- Shows `buf` in the current window, or in a split below it when `split` is true (the window
--- that already shows it, if any, is used instead).
function M.show(buf, split)
  local win = vim.fn.bufwinid(buf)
  if win ~= -1 then
    vim.api.nvim_set_current_win(win)
    return win
  end
  if split then
    vim.cmd('belowright split')
  end
  vim.api.nvim_win_set_buf(0, buf)
  return vim.api.nvim_get_current_win()
end

--- A buffer-local normal-mode mapping to a Lua function.
function M.map(buf, lhs, fn, description)
  vim.keymap.set('n', lhs, fn, { buffer = buf, nowait = true, silent = true, desc = description })
end

return M
