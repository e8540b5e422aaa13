-- The Lua half of the Neovim plugin tests (Tests/EndToEndTests/NeovimPluginTests.swift runs
-- `nvim --headless` with one of the *_test.lua scripts here, which load this file).
--
-- A script drives the plugin as an operator would (commands, keys typed into the real prompts)
-- and stops at each step: it writes what it sees (buffer lines, messages, prompts, quickfix)
-- to $TOFU_NVIM_TEST_DIR/step-NNNN.json and waits for step-NNNN.go, which the Swift test
-- writes once it has checked that step, and the store's state, and maybe changed the world
-- (a peer's certificate, a pin behind the plugin's back). The Swift side asserts; this side
-- only reports, and fails (step "error", exit status 1) when something it waits for never comes.
local H = {}

H.dir = assert(os.getenv('TOFU_NVIM_TEST_DIR'), 'TOFU_NVIM_TEST_DIR is not set')
H.params = vim.json.decode(table.concat(vim.fn.readfile(H.dir .. '/params.json'), '\n'))

-- Every message the plugin gives, through the hook a notification plugin would use.
H.notes = {}
H.every_note = {}
vim.notify = function(message, level)
  H.notes[#H.notes + 1] = { message = tostring(message), level = level or vim.log.levels.INFO }
  H.every_note[#H.every_note + 1] = tostring(message)
end

--- The messages given since the last call, as text lines.
function H.take_notes()
  local taken = {}
  for _, note in ipairs(H.notes) do
    taken[#taken + 1] = note.message
  end
  H.notes = {}
  return taken
end

-- Confirmations: answered by typing into Neovim's own vim.ui.select (inputlist()), as a
-- person would; each prompt and its items are recorded.
H.answers = {}
H.prompts = {}
local real_select = vim.ui.select
vim.ui.select = function(items, opts, on_choice)
  local answer = table.remove(H.answers, 1)
  H.prompts[#H.prompts + 1] = { prompt = opts and opts.prompt or '', items = items, answered = answer or 'nothing' }
  vim.api.nvim_feedkeys((answer or '') .. '\r', 't', false)
  return real_select(items, opts, on_choice)
end

--- Queues the answer (the item's number) to the next confirmation.
function H.answer(number)
  H.answers[#H.answers + 1] = tostring(number)
end

-- The plugin's User events, counted.
H.fired = {}
vim.api.nvim_create_autocmd('User', {
  pattern = 'Tofu*',
  callback = function(args)
    H.fired[args.match] = (H.fired[args.match] or 0) + 1
  end,
})

--- Runs `action`, then waits until each event of `names` has fired once more.
function H.after(names, action, timeout_ms)
  if type(names) == 'string' then
    names = { names }
  end
  local before = {}
  for _, name in ipairs(names) do
    before[name] = H.fired[name] or 0
  end
  action()
  timeout_ms = timeout_ms or 60000
  local ok = vim.wait(timeout_ms, function()
    for _, name in ipairs(names) do
      if (H.fired[name] or 0) <= before[name] then
        return false
      end
    end
    return true
  end, 10)
  if not ok then
    error(string.format('%s did not come within %d ms', table.concat(names, ' and '), timeout_ms), 2)
  end
end

--- Types `keys` (Neovim key notation) into the current window and runs what they do.
function H.type(keys)
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes(keys, true, false, true), 'x', false)
end

--- Queues text for the prompts the next command asks (input(), inputsecret()).
function H.queue_input(lines)
  vim.api.nvim_feedkeys(table.concat(lines, '\r') .. '\r', 't', false)
end

function H.lines(buf)
  return vim.api.nvim_buf_get_lines(buf or 0, 0, -1, false)
end

function H.buffer_named(name)
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(buf) == name then
      return buf
    end
  end
  error('no buffer ' .. name, 2)
end

--- The quickfix list: its title and, for each item, the name of its buffer, its type and text.
function H.quickfix()
  local list = vim.fn.getqflist({ title = 1, items = 1 })
  local items = {}
  for _, item in ipairs(list.items) do
    items[#items + 1] = { name = vim.api.nvim_buf_get_name(item.bufnr), type = item.type, text = item.text, valid = item.valid }
  end
  return { title = list.title, items = items }
end

local steps = 0

local function write_step(name, data)
  steps = steps + 1
  local base = string.format('%s/step-%04d', H.dir, steps)
  local encoded = vim.json.encode({ name = name, data = data or vim.empty_dict() })
  vim.fn.writefile({ encoded }, base .. '.tmp', 'b')
  assert(os.rename(base .. '.tmp', base .. '.json'))
  return base
end

--- Reports step `name` with `data`, waits for the test's go, and returns its reply.
function H.step(name, data)
  local base = write_step(name, data)
  local go = base .. '.go'
  local ok = vim.wait(180000, function()
    return vim.fn.filereadable(go) == 1
  end, 20)
  if not ok then
    error('the test never answered step ' .. name)
  end
  local reply = table.concat(vim.fn.readfile(go), '\n')
  if reply == '' then
    return {}
  end
  return vim.json.decode(reply)
end

--- Runs a test script's body; reports an error as step "error" and exits 1.
function H.run(body)
  local ok, err = xpcall(body, debug.traceback)
  if not ok then
    write_step('error', { message = tostring(err), notes = H.take_notes() })
    vim.cmd('cquit 1')
    return
  end
  H.step('done')
  vim.cmd('qa!')
end

--- The plugin's settings for this test: its tofu-rpc and store, plus `more`.
function H.setup(more)
  local options = { cmd = H.params.rpc, store = H.params.store }
  for k, v in pairs(more or {}) do
    options[k] = v
  end
  require('tofu').setup(options)
end

return H
