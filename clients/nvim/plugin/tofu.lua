-- tofu.nvim: the commands. Nothing is loaded and no tofu-rpc is started until one is used.
if vim.g.loaded_tofu then
  return
end
vim.g.loaded_tofu = true

if vim.fn.has('nvim-0.7') ~= 1 then
  vim.api.nvim_echo({ { 'tofu.nvim needs Neovim 0.7 or newer', 'WarningMsg' } }, true, {})
  return
end

local function tofu()
  return require('tofu')
end

local function complete(lead)
  return tofu().complete_keys(lead)
end

local command = vim.api.nvim_create_user_command

command('TofuList', function()
  tofu().list()
end, { nargs = 0, desc = 'tofu: the pins, as PI lists them (<CR> details, dd delete, r refresh)' })

command('TofuVerify', function(o)
  tofu().verify(o.args, o.bang)
end, { nargs = '?', bang = true, complete = complete, desc = 'tofu: verify a pin; ! every pin' })

command('TofuCancel', function()
  tofu().cancel()
end, { nargs = 0, desc = 'tofu: cancel the running :TofuVerify!' })

command('TofuHistory', function(o)
  tofu().history(o.args)
end, { nargs = '?', complete = complete, desc = 'tofu: the audit trail, of one host or all' })

command('TofuAddDnac', function(o)
  tofu().add_dnac(o.args)
end, { nargs = '?', desc = 'tofu: add a DNA Center server (asks the password twice)' })

command('TofuPin', function(o)
  tofu().pin(o.args, o.bang)
end, { nargs = 1, bang = true, complete = complete, desc = "tofu: pin the buffer's PEM certificate; ! stages it as the next one" })

local group = vim.api.nvim_create_augroup('tofu', { clear = true })

vim.api.nvim_create_autocmd('BufReadCmd', {
  group = group,
  pattern = 'tofu://pin/*',
  callback = function(args)
    require('tofu.list').read_pin_buffer(args.buf, vim.api.nvim_buf_get_name(args.buf))
  end,
})

vim.api.nvim_create_autocmd('VimLeavePre', {
  group = group,
  callback = function()
    if package.loaded['tofu.rpc'] then
      require('tofu.rpc').stop(500)
    end
  end,
})
