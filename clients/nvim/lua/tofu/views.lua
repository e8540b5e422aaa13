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

--- Replaces lines `first` to `last` of `buf` (as nvim_buf_set_lines counts them) with `lines`;
--- a view stays unmodifiable for the operator.
function M.replace(buf, first, last, lines)
  if not vim.api.nvim_buf_is_valid(buf) then
    return
  end
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, first, last, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
end

--- Replaces the lines of `buf`.
function M.set_lines(buf, lines)
  M.replace(buf, 0, -1, lines)
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

--- vim.ui.select, where an interrupted question (<C-c>, or q at a --More-- prompt, which
--- Neovim raises out of inputlist() as "Keyboard interrupt") is answered `nil`, as a question
--- left unanswered is: the safe answer, and `on_choice` runs exactly once either way.
function M.ask(items, opts, on_choice)
  local answered = false
  local function once(choice, index)
    if answered then
      return
    end
    answered = true
    on_choice(choice, index)
  end
  local ok = pcall(vim.ui.select, items, opts, once)
  if not ok then
    once(nil, nil)
  end
end

--- q in a view: closes its window; in the last window of the tab page, which Neovim will not
--- close (E444), shows the buffer seen before, else an empty one.
function M.close()
  if #vim.tbl_filter(function(win)
    return vim.api.nvim_win_get_config(win).relative == ''
  end, vim.api.nvim_tabpage_list_wins(0)) > 1 then
    vim.cmd('close')
    return
  end
  local previous = vim.fn.bufnr('#')
  if previous > 0 and previous ~= vim.api.nvim_get_current_buf() and vim.api.nvim_buf_is_valid(previous) then
    vim.api.nvim_win_set_buf(0, previous)
  else
    vim.cmd('enew')
  end
end

--- A buffer-local normal-mode mapping to a Lua function.
function M.map(buf, lhs, fn, description)
  vim.keymap.set('n', lhs, fn, { buffer = buf, nowait = true, silent = true, desc = description })
end

return M
