-- A tofu-rpc that dies is reported, not waited for: killed during a call (a verify held by a
-- host that never answers), killed while idle, and one that exits at once saying why.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')

local rpc = require('tofu.rpc')

local function wait_for_note(pattern, timeout_ms)
  local found = vim.wait(timeout_ms, function()
    for _, note in ipairs(H.notes) do
      if note.message:find(pattern, 1, true) then
        return true
      end
    end
    return false
  end, 10)
  if not found then
    error('no message with "' .. pattern .. '" within ' .. timeout_ms .. ' ms')
  end
end

H.run(function()
  H.setup({ timeout_ms = 60000 })
  H.after('TofuListUpdated', function()
    vim.cmd('TofuList')
  end)
  H.take_notes()

  -- A verify that would wait 60 s for a silent host; the test kills tofu-rpc meanwhile.
  local before = H.fired.TofuVerifyDone or 0
  vim.cmd('TofuVerify ' .. H.params.silent)
  H.step('verifying', { pid = rpc.pid() })
  local started = vim.loop.hrtime()
  if not vim.wait(15000, function()
    return (H.fired.TofuVerifyDone or 0) > before
  end, 10) then
    error('the verify never ended after tofu-rpc was killed')
  end
  H.step('reported', { notes = H.take_notes(), elapsed_ms = math.floor((vim.loop.hrtime() - started) / 1e6) })

  -- The next command starts another tofu-rpc.
  H.after('TofuListUpdated', function()
    vim.cmd('TofuList')
  end)
  H.step('restarted', { pid = rpc.pid(), lines = H.lines(), notes = H.take_notes() })

  -- Killed while nothing is asked of it: said all the same.
  H.step('kill-idle', { pid = rpc.pid() })
  wait_for_note('tofu-rpc was killed by signal', 15000)
  H.step('idle-death', { notes = H.take_notes() })

  -- A tofu-rpc that exits at once, saying why on stderr.
  H.setup({ cmd = H.params.dying })
  H.after('TofuListUpdated', function()
    vim.cmd('TofuList')
  end)
  H.step('last-words', { notes = H.take_notes() })

  vim.cmd('checkhealth tofu')
  H.step('health-after-exit', { lines = H.lines() })
end)
