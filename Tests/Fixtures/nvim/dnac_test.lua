-- :TofuAddDnac against the fake DNA Center: passwords that differ, first use, then (after the
-- controller regenerated its certificate) the mismatch left alone and the one-step re-pin; and
-- the password nowhere in Neovim afterwards.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')

local function add(password, confirmation)
  H.queue_input({ H.params.server, H.params.username, password, confirmation })
  H.after('TofuAddDnacDone', function()
    vim.cmd('TofuAddDnac')
  end)
end

H.run(function()
  -- Neovim's LSP log at its most verbose: it records every message vim.lsp.rpc sends.
  vim.lsp.set_log_level('debug')
  H.setup({ timeout_ms = 20000 })
  local password = H.params.password

  add(password, password .. 'x')
  H.step('passwords-differ', { notes = H.take_notes() })

  add(password, password)
  H.step('added', { notes = H.take_notes() })

  H.step('regenerate')

  H.answer(2)
  add(password, password)
  H.step('mismatch-left', { notes = H.take_notes(), prompts = H.prompts })
  H.prompts = {}

  H.answer(1)
  add(password, password)
  H.step('repinned', { notes = H.take_notes(), prompts = H.prompts })

  -- A request the LSP log records at DEBUG (the proof that it was recording).
  H.after('TofuListUpdated', function()
    vim.cmd('TofuList')
  end)

  -- What happened to the pin, and to every pin.
  H.after('TofuHistoryShown', function()
    vim.cmd('TofuHistory ' .. H.params.key)
  end)
  H.step('history-one', { name = vim.api.nvim_buf_get_name(0), lines = H.lines(), cursor = vim.api.nvim_win_get_cursor(0)[1] })
  H.after('TofuHistoryShown', function()
    vim.cmd('TofuHistory')
  end)
  H.step('history-all', { name = vim.api.nvim_buf_get_name(0), lines = H.lines() })

  -- Everywhere Neovim keeps text: every history, every register, the messages, every buffer.
  local histories = {}
  for _, kind in ipairs({ 'cmd', 'search', 'expr', 'input', 'debug' }) do
    local entries = {}
    for i = 1, vim.fn.histnr(kind) do
      local entry = vim.fn.histget(kind, i)
      if entry ~= '' then
        entries[#entries + 1] = entry
      end
    end
    histories[kind] = entries
  end
  local registers = {}
  for name in ('"0123456789abcdefghijklmnopqrstuvwxyz-.:%#/='):gmatch('.') do
    registers[name] = vim.fn.getreg(name)
  end
  local buffers = {}
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) then
      buffers[#buffers + 1] = { name = vim.api.nvim_buf_get_name(buf), lines = H.lines(buf) }
    end
  end
  H.step('kept-nowhere', {
    histories = histories,
    registers = registers,
    messages = vim.fn.execute('messages'),
    notes = H.every_note,
    prompts = H.prompts,
    statusmsg = vim.v.statusmsg,
    errmsg = vim.v.errmsg,
    buffers = buffers,
    lsp_log = vim.lsp.get_log_path(),
    pid = require('tofu.rpc').pid(),
  })
end)
