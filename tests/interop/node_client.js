// Drives growly (and node-notifier's Growl backend, built on it) for tests/interop: reads a
// JSON job on stdin and prints one JSON line per outcome the library reports to its caller.
// Run with NODE_PATH pointing at the pinned packages (.peers/node_modules).
'use strict';
const fs = require('fs');

const job = JSON.parse(fs.readFileSync(0, 'utf8'));
const print = (record) => process.stdout.write(JSON.stringify(record) + '\n');
const errorText = (err) => (err ? String(err.message || err) : null);
// growly reads a *.png path itself (a Buffer application icon would be taken for the list
// of notifications, its typeof being 'object').
const icon = (spec) => (spec && (spec.path || spec.url)) || undefined;

function runGrowly() {
  const growly = require('growly');
  growly.setHost('127.0.0.1', job.port);
  const events = job.events.map(([label, enabled]) => ({ label, dispname: label, enabled, icon: icon(job.event_icon) }));
  growly.register(job.app, icon(job.app_icon), events, (err) => {
    print({ register: errorText(err) });
    if (err) return;
    for (const [index, n] of (job.notify || []).entries()) {
      const opts = { label: n.name, title: n.title, sticky: n.sticky, priority: n.priority, icon: icon(n.icon) };
      const done = n.socket_callback || n.report
        ? (err, action) => print({ notify: index, error: errorText(err), action: action || null })
        : undefined;
      growly.notify(n.text, opts, done);
    }
  });
}

function runNodeNotifier() {
  const { Growl } = require('node-notifier');
  const notifier = new Growl({ name: job.app, host: '127.0.0.1', port: job.port });
  for (const name of ['click', 'timeout']) {
    notifier.on(name, (_, options) => print({ event: name, title: options.title }));
  }
  for (const [index, n] of (job.notify || []).entries()) {
    const options = { title: n.title, message: n.text, sticky: n.sticky, wait: !!n.wait };
    if (n.icon && n.icon.path) options.icon = n.icon.path;
    if (n.icon && n.icon.url) options.icon = n.icon.url;
    notifier.notify(options, (err, response) => print({ notify: index, error: errorText(err), response: response || null }));
  }
}

(job.library === 'node-notifier' ? runNodeNotifier : runGrowly)();
