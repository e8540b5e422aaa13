-- :TofuList, <CR> details, dd (kept, refused because the pin changed, deleted), r.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')

H.run(function()
  H.setup()
  H.after('TofuListUpdated', function()
    vim.cmd('TofuList')
  end)
  H.step('listed', { name = vim.api.nvim_buf_get_name(0), lines = H.lines(), notes = H.take_notes() })

  local list = vim.api.nvim_get_current_buf()
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  H.after('TofuPinShown', function()
    H.type('<CR>')
  end)
  H.step('details', { name = vim.api.nvim_buf_get_name(0), lines = H.lines(), windows = #vim.api.nvim_list_wins() })

  -- Back to the list; the details window closes with q.
  H.type('q')
  if vim.api.nvim_get_current_buf() ~= list then
    error('q in the details window did not lead back to the list')
  end

  -- dd, answered "Keep".
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  H.answer(2)
  H.after('TofuDeleteDone', function()
    H.type('dd')
  end)
  H.step('kept', { prompts = H.prompts, notes = H.take_notes(), lines = H.lines(list) })
  H.prompts = {}

  -- The test replaces the pin behind the list's back; dd must not delete the new one.
  H.step('replace-behind-the-list')
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  H.answer(1)
  H.after({ 'TofuDeleteDone', 'TofuListUpdated' }, function()
    H.type('dd')
  end)
  H.step('stale-delete-refused', { prompts = H.prompts, notes = H.take_notes(), lines = H.lines(list) })
  H.prompts = {}

  -- The list now shows the new pin: dd, answered "Delete".
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  H.answer(1)
  H.after({ 'TofuDeleteDone', 'TofuListUpdated' }, function()
    H.type('dd')
  end)
  H.step('deleted', { prompts = H.prompts, notes = H.take_notes(), lines = H.lines(list) })

  -- The test pins another host; r shows it.
  H.step('pin-another')
  H.after('TofuListUpdated', function()
    H.type('r')
  end)
  H.step('refreshed', { lines = H.lines(list), pid = require('tofu.rpc').pid() })
end)
