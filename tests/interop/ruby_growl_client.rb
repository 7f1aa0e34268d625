# Drives ruby-growl's GNTP client for tests/interop: reads a JSON job on stdin, prints one
# JSON line per response ({"ok": headers} or {"error": class, "message": text}).
#
# ruby-growl 4.1 does not load on Ruby >= 3.1 as packaged: its URI scheme registration
# writes URI's @@schemes, which Ruby 3.1 removed. The shim defines it first.
require 'json'
require 'uri'
module URI
  @@schemes = {} unless class_variable_defined?(:@@schemes) # the load shim
end
require 'ruby-growl'

job = JSON.parse($stdin.read)

if job['key_shim']
  # ruby-growl hands OpenSSL the whole 64-byte SHA512 key; Ruby's openssl >= 3.0 refuses a
  # key of the wrong length (older versions cut it). This shim cuts it, as GNTP asks.
  OpenSSL::Cipher.prepend(Module.new do
    def key=(key)
      super(key.byteslice(0, key_len))
    end
  end)
end
growl = Growl::GNTP.new(job.fetch('host', '127.0.0.1'), job.fetch('app'))
growl.password = job['password'] if job['password']
growl.encrypt = job['encrypt'] if job['encrypt']
growl.icon = File.binread(job['app_icon']) if job['app_icon']
growl.icon = URI(job['app_icon_url']) if job['app_icon_url']
job.fetch('events').each do |name, enabled|
  icon = job['event_icon'] ? File.binread(job['event_icon']) : nil
  icon = URI(job['event_icon_url']) if job['event_icon_url']
  growl.add_notification name, nil, icon, enabled
end

def report
  result = yield
  puts JSON.generate({ 'ok' => result })
rescue Growl::GNTP::ResponseError => e
  puts JSON.generate({ 'error' => e.class.name, 'message' => e.message.to_s })
rescue StandardError => e
  puts JSON.generate({ 'error' => e.class.name, 'message' => e.message.to_s })
end

$stdout.sync = true
report { growl.register } if job.fetch('register', true)
(job['notify'] || []).each do |n|
  args = [n.fetch('name'), n.fetch('title'), n['text'], n.fetch('priority', 0),
          n.fetch('sticky', false), n['coalesce_id'], n['callback_url']]
  if n['socket_callback']
    report do
      callback = nil
      ok = growl.notify(*args) { |cb| callback = cb }
      { 'response' => ok, 'callback' => callback }
    end
  else
    report { growl.notify(*args) }
  end
end
