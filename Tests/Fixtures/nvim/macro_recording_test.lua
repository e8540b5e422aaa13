-- :TofuAddDnac while a macro is being recorded: the register would keep every key typed, the
-- password's too (and Neovim saves registers in its shada file). It asks nothing then.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')

-- The prompts are answered as they open, by keys typed (as a macro records them).
local answers = { H.params.server, H.params.username, H.params.password, H.params.password }
vim.api.nvim_create_autocmd('CmdlineEnter', {
  pattern = { '@', '-' }, -- input() and inputsecret()
  callback = function()
    local answer = table.remove(answers, 1)
    if answer then
      vim.api.nvim_feedkeys(answer .. '\r', 't', false)
    end
  end,
})

local function add()
  H.after('TofuAddDnacDone', function()
    vim.api.nvim_feedkeys(':TofuAddDnac\r', 'xt', false)
  end, 20000)
end

H.run(function()
  H.setup({ timeout_ms = 20000 })
  vim.api.nvim_feedkeys('qq', 'xt', false)
  local recording = vim.fn.reg_recording()
  add()
  vim.api.nvim_feedkeys('q', 'xt', false)
  H.step('while-recording', {
    recording = recording,
    register = vim.fn.getreg('q'),
    notes = H.take_notes(),
    unanswered = #answers,
  })

  add()
  H.step('not-recording', { notes = H.take_notes(), unanswered = #answers })
end)
