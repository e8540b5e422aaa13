-- setup{ cmd } naming the tofu CLI instead of tofu-rpc (an easy slip: they sit side by side):
-- without a store setting it prints its help on stdout and exits 0, saying nothing on stderr.
-- The message must say which program that was.
local H = dofile(vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':h') .. '/harness.lua')

H.run(function()
  H.setup({ cmd = H.params.cli })
  H.after('TofuListUpdated', function()
    vim.cmd('TofuList')
  end)
  H.step('listed', { notes = H.take_notes() })
end)
