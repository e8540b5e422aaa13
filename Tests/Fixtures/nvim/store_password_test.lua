-- A postgresql:// store URI that holds a password: tofu-rpc gets the password as PGPASSWORD,
-- never on its command line (which every user of the machine reads with ps, and which
-- Neovim's LSP log records at INFO when it starts a process).
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')

H.run(function()
  vim.lsp.set_log_level('info')
  H.setup({ store = H.params.uri })
  local pid
  H.after('TofuListUpdated', function()
    vim.cmd('TofuList')
    pid = require('tofu.rpc').pid()
  end)
  -- Proof that the log records at INFO.
  require('vim.lsp.log').info('tofu test: the LSP log records at INFO')
  H.step('listed', { notes = H.take_notes(), pid = pid, lsp_log = vim.lsp.get_log_path() })
end)
