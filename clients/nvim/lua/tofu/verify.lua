-- :TofuVerify KEY (one host: the verdict as a message) and :TofuVerify! (every pin: progress
-- in tofu://verify as it goes, <C-c> there cancels, results in the quickfix list with the
-- mismatches first, each with its remedy).
local config = require('tofu.config')
local rpc = require('tofu.rpc')
local text = require('tofu.text')
local views = require('tofu.views')
local events = require('tofu.events')

local M = {}

M.PROGRESS_NAME = 'tofu://verify'

local changes = {
  newKey = 'a new key: the controller generated a new certificate',
  reissuedSameKey = 'the same key in a new certificate: the certificate was re-issued',
}

local function fingerprint(certificate)
  return text.escape(text.field(certificate, 'sha256Fingerprint'))
end

--- What to do about a result that is not a match, in a sentence; nil for a match.
function M.remedy(result)
  local status = text.field(result, 'status')
  local host = text.escape(text.field(result, 'host'))
  local presented = fingerprint(text.field(result, 'presented'))
  if status == 'mismatch' then
    return string.format(
      'confirm %s with the controller\'s administrator; if the change is expected, re-pin in one step with :TofuAddDnac %s (it offers to accept that fingerprint), or delete the pin (:TofuList, dd) and add the controller again; if it is not expected, leave the pin: something else answers for %s.',
      presented,
      host,
      host
    )
  elseif status == 'unreachable' then
    return string.format('check that %s is up and that this machine reaches it over TLS; the pin is unchanged.', host)
  elseif status == 'unpinned' then
    return string.format('pin it once its fingerprint %s is confirmed: :TofuAddDnac %s, or :TofuPin %s in a buffer holding its certificate.', presented, host, host)
  end
  return nil
end

--- The verdict on one host, in one line (without the remedy).
function M.verdict(result)
  local status = text.field(result, 'status')
  local host = text.escape(text.field(result, 'host'))
  local pinned, presented = text.field(result, 'pinned'), text.field(result, 'presented')
  if status == 'match' then
    local line = string.format('%s: match, SHA-256 %s', host, fingerprint(presented))
    local event = text.field(result, 'event')
    local previous = fingerprint(text.field(result, 'previous'))
    if event == 'rotated' then
      line = line .. string.format(' (the staged certificate is now the pin; it replaced %s)', previous)
    elseif event == 'renewed' then
      line = line .. string.format(' (renewed with the pinned key; it replaced %s)', previous)
    end
    return line
  elseif status == 'mismatch' then
    local change = changes[text.field(result, 'change')] or text.escape(text.field(result, 'change'))
    local line = string.format(
      '%s: MISMATCH, it presents a different certificate than the one pinned (%s): pinned %s, presented %s (serial %s, subject %s)',
      host,
      change,
      fingerprint(pinned),
      fingerprint(presented),
      text.escape(text.field(presented, 'serialNumber')),
      text.brief(text.field(presented, 'subject'))
    )
    local validity = text.field(result, 'presentedValidity')
    if validity == 'expired' then
      line = line .. '; the presented certificate has expired'
    elseif validity == 'notYetValid' then
      line = line .. '; the presented certificate is not valid yet'
    end
    local next = text.field(pinned, 'next')
    if next then
      line = line .. '; it is not the staged next certificate ' .. fingerprint(next) .. ' either'
    end
    return line
  elseif status == 'unpinned' then
    return string.format('%s: no pin; it presents SHA-256 %s', host, fingerprint(presented))
  elseif status == 'unreachable' then
    local detail = text.field(result, 'detail')
    return string.format(
      '%s: unreachable (%s)%s',
      host,
      text.escape(text.field(result, 'reason')),
      detail and (': ' .. text.escape(detail)) or ''
    )
  end
  return host .. ': ' .. text.escape(status)
end

local levels = {
  match = vim.log.levels.INFO,
  mismatch = vim.log.levels.ERROR,
  unreachable = vim.log.levels.WARN,
  unpinned = vim.log.levels.WARN,
}

--- :TofuVerify KEY
function M.one(key)
  rpc.request('verifyCert', { host = key, timeoutMs = config.options.timeout_ms }, function(err, result)
    if err then
      text.notify('verifying ' .. text.escape(key) .. ' failed: ' .. text.error_message(err), vim.log.levels.ERROR)
    else
      local message = M.verdict(result)
      local remedy = M.remedy(result)
      -- One line, however long: Neovim 0.7 shows only the first line of an error message
      -- given from a callback (the rest reaches :messages only), and the remedy is what the
      -- operator needs most.
      if remedy then
        message = message .. '. Remedy: ' .. remedy
      end
      text.notify(message, levels[text.field(result, 'status')] or vim.log.levels.INFO)
    end
    events.emit('TofuVerifyDone')
  end)
end

-- Quickfix order: what needs the operator first.
local rank = { mismatch = 1, unreachable = 2, unpinned = 3, match = 4 }
local types = { mismatch = 'E', unreachable = 'W', unpinned = 'W', match = 'I' }

--- How many quickfix items lead to a pin's own details buffer (tofu://pin/<key>). Neovim makes
--- one buffer per file name a quickfix list holds, at a cost that grows with the square of
--- their number (20 s for 10,000 pins on Neovim 0.7, with the editor frozen); the items past
--- these lead to the host's line in tofu://verify, where <CR> shows the details.
M.QUICKFIX_JUMPS = 500

-- Where item number `n` (for `host`) of a quickfix list leads: the pin's details, or past
-- M.QUICKFIX_JUMPS the host's line of tofu://verify.
local function target(n, host, verify_buf, line_of)
  if n <= M.QUICKFIX_JUMPS or not verify_buf or not vim.api.nvim_buf_is_valid(verify_buf) then
    return { filename = 'tofu://pin/' .. (host or ''), lnum = 1 }
  end
  return { bufnr = verify_buf, lnum = (line_of and host and line_of[host]) or 1 }
end

--- The quickfix items of `results`: mismatches first, then unreachable and unpinned hosts,
--- then matches; by host within each. Each item leads to the pin's details (past
--- M.QUICKFIX_JUMPS items: to the host's line of `verify_buf`, `line_of` giving it by host key).
function M.quickfix_items(results, verify_buf, line_of)
  local sorted = {}
  for i, result in ipairs(results) do
    sorted[i] = { result = result, index = i }
  end
  table.sort(sorted, function(a, b)
    local ra = rank[text.field(a.result, 'status')] or 5
    local rb = rank[text.field(b.result, 'status')] or 5
    if ra ~= rb then
      return ra < rb
    end
    return a.index < b.index
  end)
  local items = {}
  for _, entry in ipairs(sorted) do
    local result = entry.result
    local status = text.field(result, 'status')
    local line = M.verdict(result)
    local remedy = M.remedy(result)
    if remedy then
      line = line .. '. Remedy: ' .. remedy
    end
    local item = target(#items + 1, text.field(result, 'host'), verify_buf, line_of)
    item.text = line
    item.type = types[status] or 'W'
    items[#items + 1] = item
  end
  return items
end

local running = nil -- the :TofuVerify! in progress
local runs = 0

local shown = nil -- the run tofu://verify shows

local function progress_line(seen)
  return string.format('%d/%d  host=%s;  status=%s', seen.done, seen.total, seen.host, seen.status)
end

local function progress_lines(run, header)
  local lines = { header }
  for _, seen in ipairs(run.seen) do
    lines[#lines + 1] = progress_line(seen)
  end
  return lines
end

--- <CR> in tofu://verify: the details of the pin on the cursor's line.
local function show_pin_at_cursor()
  local run = shown
  local seen = run and run.seen[vim.api.nvim_win_get_cursor(0)[1] - 1]
  if seen and seen.raw_host then
    require('tofu.list').show_pin(seen.raw_host)
  end
end

local function set_quickfix(title, items)
  vim.fn.setqflist({}, ' ', { title = title, items = items })
end

--- :TofuVerify!
function M.all()
  if running then
    text.notify('every pin is being verified already; <C-c> in ' .. M.PROGRESS_NAME .. ' (or :TofuCancel) cancels it', vim.log.levels.WARN)
    return
  end
  runs = runs + 1
  local token = 'tofu.nvim-' .. runs
  local buf = views.buffer(M.PROGRESS_NAME)
  local run = { token = token, buf = buf, seen = {}, line_of = {} }
  running = run
  shown = run
  views.map(buf, '<C-c>', M.cancel, 'tofu: cancel the verification of every pin')
  views.map(buf, '<CR>', show_pin_at_cursor, "tofu: details of this line's pin")
  views.map(buf, 'q', views.close, 'tofu: close')
  views.show(buf, true)
  views.set_lines(buf, { 'Verifying every pin... (<C-c> cancels)' })
  rpc.on_progress(token, function(value)
    if running ~= run or type(value) ~= 'table' then
      return
    end
    local done, total = tonumber(text.value(value.done)) or 0, tonumber(text.value(value.total)) or 0
    local seen = {
      done = done,
      total = total,
      host = text.escape(text.value(value.host)),
      status = text.escape(text.value(value.status)),
      raw_host = text.value(value.host),
      raw_status = text.value(value.status),
    }
    run.seen[#run.seen + 1] = seen
    if type(seen.raw_host) == 'string' then
      run.line_of[seen.raw_host] = #run.seen + 1
    end
    run.total = total
    local header = run.cancelling and 'Cancelling...' or string.format('Verifying every pin: %d of %d done (<C-c> cancels)', done, total)
    -- The header, and this host's line added: rewriting every line each time would cost the
    -- square of the number of pins.
    views.replace(buf, 0, 1, { header })
    views.replace(buf, -1, -1, { progress_line(seen) })
    events.emit('TofuVerifyProgress')
  end)
  local params = { all = true, progressToken = token, timeoutMs = config.options.timeout_ms, concurrency = config.options.concurrency }
  run.handle = rpc.request('verifyCert', params, function(err, result)
    rpc.on_progress(token, nil)
    running = nil
    if err and err.kind == rpc.CANCELLED then
      local verified = #run.seen
      local header = string.format(
        'Cancelled after %d of %s hosts: those below were verified, the others were not (and nothing changed for them).',
        verified,
        run.total and tostring(run.total) or 'the'
      )
      views.set_lines(buf, progress_lines(run, header))
      local partial = {}
      for _, seen in ipairs(run.seen) do
        partial[#partial + 1] = {
          host = seen.raw_host,
          text = seen.status .. ' (verified before the cancel; :TofuVerify ' .. seen.host .. ' for the details)',
          type = types[seen.raw_status] or 'W',
          rank = rank[seen.raw_status] or 5,
          index = #partial + 1,
        }
      end
      table.sort(partial, function(a, b)
        if a.rank ~= b.rank then
          return a.rank < b.rank
        end
        return a.index < b.index
      end)
      for i, entry in ipairs(partial) do
        local item = target(i, entry.host, buf, run.line_of)
        item.text = entry.text
        item.type = entry.type
        partial[i] = item
      end
      set_quickfix('tofu: verify every pin (cancelled)', partial)
      text.notify(header, vim.log.levels.WARN)
    elseif err then
      views.set_lines(buf, progress_lines(run, 'Failed: ' .. text.error_message(err)))
      text.notify('verifying every pin failed: ' .. text.error_message(err), vim.log.levels.ERROR)
    else
      local results = text.field(result, 'results') or {}
      local counts = { match = 0, mismatch = 0, unreachable = 0, unpinned = 0 }
      for _, r in ipairs(results) do
        local status = text.field(r, 'status')
        counts[status] = (counts[status] or 0) + 1
      end
      local summary = string.format(
        'Verified %d pin%s: %d mismatch, %d unreachable, %d match. Results in the quickfix list (:copen), mismatches first.',
        #results,
        #results == 1 and '' or 's',
        counts.mismatch,
        counts.unreachable,
        counts.match
      )
      views.set_lines(buf, progress_lines(run, summary))
      set_quickfix('tofu: verify every pin', M.quickfix_items(results, buf, run.line_of))
      if #results > 0 then
        vim.cmd('botright copen')
      end
      local level = counts.mismatch > 0 and vim.log.levels.ERROR
        or (counts.unreachable > 0 and vim.log.levels.WARN or vim.log.levels.INFO)
      text.notify(summary, level)
    end
    events.emit('TofuVerifyDone')
  end)
end

--- <C-c> in tofu://verify, and :TofuCancel: sends $/cancelRequest for the running :TofuVerify!.
function M.cancel()
  local run = running
  if not run or not run.handle then
    text.notify('no verification is running', vim.log.levels.WARN)
    return
  end
  run.cancelling = true
  views.set_lines(run.buf, progress_lines(run, 'Cancelling...'))
  run.handle.cancel()
end

--- Whether :TofuVerify! is running.
function M.running()
  return running ~= nil
end

return M
