-- :checkhealth tofu (tofu-rpc and the store found through $TOFU_RPC and $TOFU_STORE, as the
-- CLI finds them; a store tofu-rpc refuses; no tofu-rpc), and :help tofu after :helptags.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')

local function health()
  vim.cmd('checkhealth tofu')
  local lines = H.lines()
  vim.cmd('bwipeout!')
  return lines
end

H.run(function()
  -- No setup{}: the environment says where tofu-rpc and the store are.
  H.step('health-ok', { lines = health() })

  require('tofu').setup({ store = H.params.broken })
  require('tofu').restart()
  H.step('health-store-refused', { lines = health() })

  require('tofu').setup({ cmd = H.params.missing })
  require('tofu').restart()
  H.step('health-no-tofu-rpc', { lines = health() })

  -- :help, with the tags :helptags makes from the plugin's doc/tofu.txt.
  local doc = vim.api.nvim_get_runtime_file('doc/tofu.txt', false)[1]
  vim.cmd('helptags ' .. vim.fn.fnameescape(vim.fn.fnamemodify(doc, ':h')))
  vim.cmd('help tofu')
  local help = { file = vim.fn.expand('%:p'), line = vim.fn.getline('.'), filetype = vim.bo.filetype }
  local commands = {}
  for name in pairs(vim.api.nvim_get_commands({})) do
    if name:match('^Tofu') then
      local ok, err = pcall(vim.cmd, 'help :' .. name)
      commands[name] = ok and vim.fn.getline('.') or ('failed: ' .. tostring(err))
    end
  end
  local topics = {}
  for _, topic in ipairs({ 'tofu-setup', 'tofu-list', 'tofu-health', 'tofu-passwords', 'tofu-events' }) do
    local ok, err = pcall(vim.cmd, 'help ' .. topic)
    topics[topic] = ok and vim.fn.getline('.') or ('failed: ' .. tostring(err))
  end
  H.step('help', { help = help, commands = commands, topics = topics, doc = doc })
end)
