-- :TofuList of two pins, one whose subject spells an escape (the text `\u200B`) and one that
-- holds the character itself: the test checks that the two lines differ.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')

H.run(function()
  H.setup()
  H.after('TofuListUpdated', function()
    vim.cmd('TofuList')
  end)
  H.step('listed', { lines = H.lines(), notes = H.take_notes() })
end)
