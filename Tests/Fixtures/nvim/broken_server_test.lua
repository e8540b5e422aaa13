-- A tofu-rpc whose stdout is not JSON-RPC, and a request that JSON cannot carry: both end with
-- a message, never with a call that waits for ever.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')
local rpc = require('tofu.rpc')

H.run(function()
  -- A "tofu-rpc" that answers its first request with bytes that are not JSON, then says
  -- nothing more and stays up.
  H.setup({ cmd = H.params.garbage })
  local pid
  H.after('TofuListUpdated', function()
    vim.cmd('TofuList')
    pid = rpc.pid()
  end, 15000)
  H.step('garbage', { notes = H.take_notes(), pid = pid, lines = H.lines() })

  -- The real one; a host key with a byte that is not UTF-8 (Latin-1's é).
  H.setup()
  H.after('TofuListUpdated', function()
    vim.cmd('TofuList')
  end)
  H.take_notes()
  local before = rpc.pid()
  H.after('TofuVerifyDone', function()
    vim.cmd('TofuVerify caf\233.example')
  end, 15000)
  H.step('not-utf8', { notes = H.take_notes(), before = before, after = rpc.pid() })

  vim.cmd('checkhealth tofu')
  H.step('health', { lines = H.lines() })
end)
