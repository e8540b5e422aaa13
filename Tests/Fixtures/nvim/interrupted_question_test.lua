-- <C-c> at the plugin's questions, as an operator who changes their mind presses it: dd's
-- "Delete or Keep", and :TofuAddDnac's offer to re-pin. Neovim raises "Keyboard interrupt" out
-- of inputlist() (q at a --More-- prompt does the same); the plugin must take it as the safe
-- answer, say what it kept, and finish.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')

-- Neovim's own vim.ui.select (the harness replaced it with one that types a number).
local neovim_select = dofile(vim.api.nvim_get_runtime_file('lua/vim/ui.lua', false)[1]).select

-- Every question is interrupted: <C-c> through Neovim's input queue, as a terminal sends it.
vim.ui.select = function(items, opts, on_choice)
  H.prompts[#H.prompts + 1] = { prompt = opts and opts.prompt or '', items = items, answered = '<C-c>' }
  vim.api.nvim_input('<C-c>')
  return neovim_select(items, opts, on_choice)
end

local function add()
  H.queue_input({ H.params.server, H.params.username, H.params.password, H.params.password })
  H.after('TofuAddDnacDone', function()
    vim.cmd('TofuAddDnac')
  end, 20000)
end

H.run(function()
  H.setup({ timeout_ms = 20000 })
  add()
  H.step('added', { notes = H.take_notes() })

  H.after('TofuListUpdated', function()
    vim.cmd('TofuList')
  end)
  H.take_notes()
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  H.after('TofuDeleteDone', function()
    H.type('dd')
  end, 15000)
  H.step('delete-interrupted', { notes = H.take_notes(), prompts = H.prompts, errmsg = vim.v.errmsg })
  H.prompts = {}

  H.step('regenerate')
  add()
  H.step('repin-interrupted', { notes = H.take_notes(), prompts = H.prompts, errmsg = vim.v.errmsg })
end)
