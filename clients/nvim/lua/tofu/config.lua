-- The plugin's settings (require('tofu').setup{...}) and where tofu-rpc and the store are.
local M = {}

local defaults = {
  -- The tofu-rpc to start. nil: $TOFU_RPC, else tofu-rpc next to the `tofu` on PATH, else
  -- tofu-rpc on PATH (the order the tofu CLI uses).
  cmd = nil,
  -- The pin store. nil: tofu-rpc's own default ($TOFU_STORE, else
  -- $XDG_DATA_HOME/tofu/store.sqlite, else ~/.local/share/tofu/store.sqlite). A PostgreSQL
  -- URI works too.
  store = nil,
  -- More tofu-rpc arguments, e.g. { '--store-timeout-ms', '10000' }.
  args = {},
  -- Deadline per host for TLS connections (verifyCert, addDnacServer), in milliseconds.
  timeout_ms = 5000,
  -- :TofuVerify!: hosts verified at once (nil: tofu-rpc's default).
  concurrency = nil,
  -- How long a call the editor waits for (completion, :checkhealth) may take, in milliseconds.
  sync_timeout_ms = 10000,
}

M.options = vim.deepcopy(defaults)

function M.setup(options)
  vim.validate({ options = { options, 't', true } })
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(defaults), options or {})
end

local function executable(path)
  return path ~= nil and path ~= '' and vim.fn.executable(path) == 1
end

--- The tofu-rpc to start and where that choice came from; nil and the reason when none is found.
function M.server_path()
  local configured = M.options.cmd
  if configured ~= nil then
    local path = vim.fn.expand(configured)
    if executable(path) then
      return vim.fn.exepath(path) ~= '' and vim.fn.exepath(path) or path, "setup{ cmd }"
    end
    return nil, string.format("setup{ cmd = %q } is not an executable tofu-rpc", configured)
  end
  local variable = vim.env.TOFU_RPC
  if variable ~= nil and variable ~= '' then
    if executable(variable) then
      return vim.fn.exepath(variable) ~= '' and vim.fn.exepath(variable) or variable, '$TOFU_RPC'
    end
    return nil, string.format('$TOFU_RPC (%s) is not an executable tofu-rpc', variable)
  end
  local cli = vim.fn.exepath('tofu')
  if cli ~= '' then
    local beside = vim.fn.fnamemodify(vim.fn.resolve(cli), ':h') .. '/tofu-rpc'
    if executable(beside) then
      return beside, 'next to ' .. cli
    end
  end
  local on_path = vim.fn.exepath('tofu-rpc')
  if on_path ~= '' then
    return on_path, 'PATH'
  end
  return nil, 'cannot find tofu-rpc: put it on PATH, set $TOFU_RPC, or give require("tofu").setup{ cmd = "/path/to/tofu-rpc" }'
end

local function percent_decode(s)
  return (s:gsub('%%(%x%x)', function(hex)
    return string.char(tonumber(hex, 16))
  end))
end

--- A postgresql:// URI without its password, and that password (decoded), or nil: given as
--- `user:password@` or as a `password=` parameter of the query.
function M.split_password(uri)
  local password
  local scheme, userinfo, rest = uri:match('^(postgres%a*://)([^/@?#]*)@(.*)$')
  if scheme then
    local user, secret = userinfo:match('^([^:]*):(.*)$')
    if user then
      password = percent_decode(secret)
      uri = scheme .. (user ~= '' and (user .. '@') or '') .. rest
    end
  end
  local base, query = uri:match('^([^?]*)%?(.*)$')
  if base then
    local kept = {}
    for parameter in vim.gsplit(query, '&', true) do
      local value = parameter:match('^password=(.*)$')
      if value then
        password = percent_decode(value)
      elseif parameter ~= '' then
        kept[#kept + 1] = parameter
      end
    end
    uri = #kept > 0 and (base .. '?' .. table.concat(kept, '&')) or base
  end
  return uri, password
end

--- tofu-rpc's arguments (the store when one is configured, then `args`) and the environment
--- it needs besides Neovim's, or nil. A password in a postgresql:// store URI goes to
--- tofu-rpc as PGPASSWORD, which libpq reads: a command line is visible to every user of the
--- machine (ps), and Neovim's LSP log records it at INFO.
function M.server_arguments()
  local arguments, environment = {}, nil
  if M.options.store ~= nil and M.options.store ~= '' then
    local store = M.options.store
    if store:match('^postgres') then
      local password
      store, password = M.split_password(store)
      if password then
        environment = { PGPASSWORD = password }
      end
    else
      store = vim.fn.expand(store)
    end
    vim.list_extend(arguments, { '--store', store })
  end
  vim.list_extend(arguments, M.options.args or {})
  return arguments, environment
end

--- The store tofu-rpc will open, as the operator should read it, and where that came from.
--- A PostgreSQL URI is shown without its user and password.
function M.store_description()
  local store, origin = M.options.store, 'setup{ store }'
  if store == nil or store == '' then
    store, origin = vim.env.TOFU_STORE, '$TOFU_STORE'
  end
  if store == nil or store == '' then
    local data = vim.env.XDG_DATA_HOME
    if data ~= nil and data:sub(1, 1) == '/' then
      store, origin = data .. '/tofu/store.sqlite', 'the default under $XDG_DATA_HOME'
    else
      store, origin = vim.fn.expand('~') .. '/.local/share/tofu/store.sqlite', 'the default'
    end
  elseif store:match('^postgres') then
    store = (store:gsub('//[^/@]*@', '//'):gsub('%?.*$', ''))
  else
    store = vim.fn.expand(store)
  end
  return store, origin
end

return M
