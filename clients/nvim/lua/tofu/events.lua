-- User autocommands the plugin fires when a view or an operation is done: for the operator's
-- own autocommands, and for the tests, which wait for them.
--   TofuListUpdated   the list buffer shows the store (or the listing failed)
--   TofuPinShown      a details buffer shows a pin
--   TofuDeleteDone    dd finished (deleted, kept or refused)
--   TofuVerifyProgress  a host of :TofuVerify! is done (tofu://verify shows it)
--   TofuVerifyDone    :TofuVerify or :TofuVerify! finished (also when cancelled)
--   TofuHistoryShown  :TofuHistory shows the events
--   TofuAddDnacDone   :TofuAddDnac finished
--   TofuPinDone       :TofuPin finished
local M = {}

function M.emit(name)
  vim.api.nvim_exec_autocmds('User', { pattern = name, modeline = false })
end

return M
