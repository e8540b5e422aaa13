-- :TofuList on a store that holds no pins (a path with a typo is a new, empty store) names the
-- store; q in the only window leaves the list (Neovim will not close the last window).
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')

H.run(function()
  H.setup()
  H.after('TofuListUpdated', function()
    vim.cmd('TofuList')
  end)
  local listed = { notes = H.take_notes(), windows = #vim.api.nvim_list_wins(), name = vim.api.nvim_buf_get_name(0) }
  vim.v.errmsg = ''
  H.type('q')
  listed.after_q = { name = vim.api.nvim_buf_get_name(0), errmsg = vim.v.errmsg, windows = #vim.api.nvim_list_wins() }
  H.step('listed', listed)
end)
