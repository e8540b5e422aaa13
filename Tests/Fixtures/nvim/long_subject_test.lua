-- A certificate whose subject runs to kilobytes (whoever made it chose it): the question dd
-- asks and the messages of :TofuPin must show the fingerprint and serial, not bury them
-- behind a --More-- prompt of subject.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')

H.run(function()
  H.setup()
  H.after('TofuListUpdated', function()
    vim.cmd('TofuList')
  end)
  H.take_notes()
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  H.answer(2)
  H.after('TofuDeleteDone', function()
    H.type('dd')
  end)
  H.step('asked', { prompts = H.prompts, notes = H.take_notes(), lines = H.lines() })

  vim.cmd('enew')
  vim.api.nvim_buf_set_lines(0, 0, -1, false, vim.split(H.params.pem, '\n', { plain = true }))
  H.after('TofuPinDone', function()
    vim.cmd('TofuPin ' .. H.params.other)
  end)
  H.step('pinned', { notes = H.take_notes() })
end)
