-- :TofuVerify KEY gives its verdict and remedy as one message of one line: Neovim 0.7 shows
-- only the first line of an error message given from a callback (the rest reaches :messages
-- only), and a mismatch is an error.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')

H.run(function()
  H.setup({ timeout_ms = 20000 })
  local verdicts = {}
  for _, key in ipairs({ H.params.changed, H.params.closed }) do
    H.take_notes()
    H.after('TofuVerifyDone', function()
      vim.cmd('TofuVerify ' .. key)
    end)
    verdicts[#verdicts + 1] = { key = key, notes = H.notes }
    H.notes = {}
  end
  H.step('verdicts', { verdicts = verdicts })
end)
