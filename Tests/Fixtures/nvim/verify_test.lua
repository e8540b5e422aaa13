-- :TofuVerify KEY (match, mismatch), :TofuVerify! (progress, quickfix, jump to a pin), and a
-- :TofuVerify! cancelled with <C-c> in tofu://verify while hosts that never answer hold it.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')

local function progress_count()
  return H.fired.TofuVerifyProgress or 0
end

H.run(function()
  H.setup({ timeout_ms = 20000 })
  local p = H.params

  H.after('TofuVerifyDone', function()
    vim.cmd('TofuVerify ' .. p.good)
  end)
  H.step('one-match', { notes = H.take_notes(), completion = vim.fn.getcompletion('TofuVerify 127.', 'cmdline') })

  H.after('TofuVerifyDone', function()
    vim.cmd('TofuVerify ' .. p.changed)
  end)
  H.step('one-mismatch', { notes = H.take_notes() })

  local before = progress_count()
  H.after('TofuVerifyDone', function()
    vim.cmd('TofuVerify!')
  end)
  H.step('all', {
    progress = progress_count() - before,
    lines = H.lines(H.buffer_named('tofu://verify')),
    quickfix = H.quickfix(),
    window = vim.api.nvim_buf_get_name(0),
    filetype = vim.bo.filetype,
    buftype = vim.bo.buftype,
    notes = H.take_notes(),
  })

  -- The first entry (the mismatch) leads to that pin's details.
  H.after('TofuPinShown', function()
    vim.cmd('cfirst')
  end)
  H.step('jumped', { name = vim.api.nvim_buf_get_name(0), lines = H.lines() })

  -- Hosts that accept and never speak: a run now waits on them (deadline 60 s) until cancelled.
  H.step('pin-silent-hosts')
  H.setup({ timeout_ms = 60000 })
  before = progress_count()
  vim.cmd('TofuVerify!')
  local fast = p.fast
  if not vim.wait(30000, function()
    return progress_count() - before >= fast
  end, 10) then
    error('the fast hosts were not verified: progress ' .. (progress_count() - before))
  end
  local progress_buffer = H.buffer_named('tofu://verify')
  if vim.api.nvim_get_current_buf() ~= progress_buffer then
    error(':TofuVerify! did not show tofu://verify')
  end
  local while_running = H.lines(progress_buffer)
  local started = vim.loop.hrtime()
  H.after('TofuVerifyDone', function()
    H.type('<C-c>')
  end, 20000)
  local elapsed_ms = math.floor((vim.loop.hrtime() - started) / 1e6)
  H.step('cancelled', {
    elapsed_ms = elapsed_ms,
    while_running = while_running,
    lines = H.lines(progress_buffer),
    quickfix = H.quickfix(),
    notes = H.take_notes(),
  })

  -- tofu-rpc goes on serving after the cancel.
  H.setup({ timeout_ms = 20000 })
  H.after('TofuListUpdated', function()
    vim.cmd('TofuList')
  end)
  H.step('served-after-cancel', { lines = H.lines() })
end)
