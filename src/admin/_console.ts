/**
 * The web console: one HTML page, one script and one stylesheet, served by the admin handler.
 * No framework, no build step, no external asset, no inline script or style (the page is served
 * under `script-src 'self'; style-src 'self'`). The administrator's key is held in a closure
 * variable of the script only: never in storage, cookies, the URL or the DOM after sign-in.
 * Every piece of data from the API is rendered with `textContent`, never parsed as HTML.
 * @module
 */

/** How the console sends the admin key: which header, in which format. */
export interface ConsoleAuth {
  /** Lower-case header name. */
  readonly header: string
  /** `raw`: the key as the header value; `bearer`: `Bearer <key>`; `basic`: `Basic base64(key:)`; `rest_api_key`: `rest_api_key=<key>`. */
  readonly format: 'raw' | 'bearer' | 'basic' | 'rest_api_key'
}

function attr(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** The console page for a base path. The only dynamic parts are attribute values, escaped. */
export function consolePage(options: { basePath: string; auth: ConsoleAuth | undefined }): string {
  const base = attr(options.basePath)
  const header = attr(options.auth?.header ?? '')
  const format = attr(options.auth?.format ?? '')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>keyward · API keys</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${base}/console.css">
<script src="${base}/console.js" defer></script>
</head>
<body data-api="${base}/api" data-auth-header="${header}" data-auth-format="${format}">
<header class="bar">
  <h1>keyward <span>API keys</span></h1>
  <div id="session" hidden><span id="session-text"></span> <button type="button" id="signout">Sign out</button></div>
</header>
<noscript><p class="card">This console needs JavaScript.</p></noscript>
<div id="error" class="error" role="alert" hidden><p id="error-text"></p><button type="button" id="error-close">Dismiss</button></div>
<p id="status" class="status" role="status" aria-live="polite"></p>
<section id="signin" class="card narrow">
  <h2>Sign in</h2>
  <form id="signin-form" autocomplete="off">
    <label for="signin-key">Administrator API key</label>
    <div class="row"><input id="signin-key" type="password" autocomplete="off" spellcheck="false"><button type="submit" id="signin-button">Sign in</button></div>
  </form>
  <p class="hint">The key is kept in this page's memory only. It is never stored, and reloading the page signs you out.</p>
</section>
<main id="app" hidden>
  <section id="secret" class="card secret" hidden>
    <h2>New key: copy it now</h2>
    <p class="warning"><strong>This key will not be shown again.</strong> Store it in a secret manager before you hide this panel.</p>
    <p id="secret-for"></p>
    <div class="row"><input id="secret-value" type="text" readonly spellcheck="false" autocomplete="off" aria-label="New API key"><button type="button" id="secret-copy">Copy</button></div>
    <p id="secret-copy-status" class="hint" role="status"></p>
    <button type="button" id="secret-done">I have stored it: hide the key</button>
  </section>
  <section id="groups-card" class="card">
    <h2>Key groups</h2>
    <table id="groups-table"><thead><tr><th>Name</th><th>Description</th><th>Status</th><th>Keys</th><th>ID</th><th>Actions</th></tr></thead><tbody></tbody></table>
    <p id="groups-empty" class="hint" hidden>No key groups yet.</p>
    <form id="group-form" class="row wrap" autocomplete="off">
      <label>Name <input name="name" maxlength="128"></label>
      <label>Description <input name="description" maxlength="1024"></label>
      <button type="submit">Create group</button>
    </form>
  </section>
  <section id="keys-card" class="card">
    <h2>Keys</h2>
    <label class="filter">Show <select id="keys-filter"><option value="">all groups</option></select></label>
    <table id="keys-table"><thead><tr><th>ID</th><th>Kind</th><th>Owner</th><th>Role</th><th>Group</th><th>Description</th><th>Status</th><th>Expires</th><th>Actions</th></tr></thead><tbody></tbody></table>
    <p id="keys-empty" class="hint" hidden>No keys.</p>
  </section>
  <section id="detail" class="card" hidden>
    <h2 id="detail-title"></h2>
    <dl id="detail-facts"></dl>
    <h3>Description</h3>
    <form id="detail-desc-form" class="row" autocomplete="off"><input id="detail-desc" maxlength="1024" aria-label="Description"><button type="submit">Save description</button></form>
    <h3>Allowed client addresses</h3>
    <p id="detail-ips-mode" class="hint"></p>
    <ul id="detail-ips" class="chips"></ul>
    <form id="detail-ip-form" class="row" autocomplete="off"><input id="detail-ip" placeholder="203.0.113.0/24" aria-label="Address or CIDR"><button type="submit">Add address</button></form>
    <p><button type="button" id="detail-ips-clear">Remove the restriction (accept any address)</button></p>
    <h3>Granted operations</h3>
    <ul id="detail-grants" class="chips"></ul>
    <form id="detail-grant-form" class="row" autocomplete="off"><input id="detail-grant" placeholder="getProjects" aria-label="Operation"><button type="submit">Grant operation</button></form>
    <p><button type="button" id="detail-close">Close</button></p>
  </section>
  <section id="create-card" class="card">
    <h2>Issue a key</h2>
    <form id="key-form" class="grid" autocomplete="off">
      <label>Kind <select name="kind"><option value="user">user: acts for an owner, in a role</option><option value="org">org: every permission in this tenant</option><option value="tenant">tenant: organization key, grants nothing alone</option></select></label>
      <label>On behalf of (owner) <input name="owner" maxlength="256"></label>
      <label>In role <select name="role"><option value="">(none)</option></select></label>
      <label>Group <select name="group"><option value="">(no group)</option></select></label>
      <label>Description <input name="description" maxlength="1024"></label>
      <label>Expires (optional) <input name="expiresAt" type="datetime-local"></label>
      <label>Allowed addresses <textarea name="allowedIps" rows="2" placeholder="one per line, e.g. 203.0.113.0/24"></textarea></label>
      <label>Granted operations <textarea name="grants" rows="2" placeholder="one per line"></textarea></label>
      <label class="check"><input name="active" type="checkbox" checked> Activated</label>
      <div><button type="submit">Create key</button></div>
    </form>
  </section>
</main>
<dialog id="dialog">
  <form id="dialog-form" autocomplete="off">
    <p id="dialog-message"></p>
    <label id="dialog-field" hidden><span id="dialog-label"></span> <input id="dialog-input"></label>
    <div class="row"><button type="submit" id="dialog-confirm">Confirm</button><button type="button" id="dialog-cancel">Cancel</button></div>
  </form>
</dialog>
</body>
</html>
`
}

/** The console's stylesheet. System fonts only: nothing is fetched. */
export const CONSOLE_CSS = String.raw`:root { color-scheme: light; --fg: #1c2430; --muted: #5b6675; --line: #d5dbe3; --bg: #f4f6f9; --card: #fff; --accent: #1f5fbf; --danger: #b3261e; --ok: #1e7a3c; --warn-bg: #fff4d6; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
.bar { display: flex; justify-content: space-between; align-items: center; padding: 10px 20px; background: #14213d; color: #fff; }
.bar h1 { font-size: 18px; margin: 0; } .bar h1 span { font-weight: 400; opacity: .8; }
.bar button { margin-left: 8px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 14px 18px; margin: 14px 20px; }
.card.narrow { max-width: 640px; }
h2 { font-size: 16px; margin: 0 0 10px; } h3 { font-size: 14px; margin: 14px 0 6px; }
table { border-collapse: collapse; width: 100%; margin-bottom: 10px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.id, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
td.desc { max-width: 280px; overflow-wrap: anywhere; white-space: pre-wrap; }
td.actions { white-space: nowrap; }
td.actions button { margin: 0 4px 4px 0; }
.badge { display: inline-block; padding: 0 6px; border-radius: 9px; font-size: 12px; }
.badge.on { background: #dff3e5; color: var(--ok); } .badge.off { background: #f7dcdc; color: var(--danger); }
.sub { display: block; color: var(--muted); font-size: 12px; }
.row { display: flex; gap: 8px; align-items: center; } .row.wrap { flex-wrap: wrap; align-items: flex-end; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 10px 16px; align-items: end; }
label { display: flex; flex-direction: column; gap: 3px; font-size: 13px; color: var(--muted); }
label.check { flex-direction: row; align-items: center; gap: 6px; } label.filter { flex-direction: row; align-items: center; gap: 6px; margin-bottom: 8px; }
input, select, textarea { font: inherit; color: var(--fg); padding: 5px 7px; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
.row input { flex: 1; min-width: 0; }
button { font: inherit; padding: 5px 11px; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button[data-action="deactivate"], button[data-action="delete"], button.danger { background: #fff; color: var(--danger); border-color: var(--danger); }
button[data-action="edit"], button[data-action="activate"], #signout, #error-close, #dialog-cancel, #detail-close, #detail-ips-clear, #secret-done { background: #fff; color: var(--accent); }
button:disabled { opacity: .45; cursor: not-allowed; }
.hint { color: var(--muted); font-size: 12px; margin: 6px 0; }
.error { margin: 14px 20px; padding: 10px 14px; border: 1px solid var(--danger); background: #fdecea; color: var(--danger); border-radius: 6px; display: flex; justify-content: space-between; align-items: center; gap: 12px; }
.error p { margin: 0; overflow-wrap: anywhere; }
.status { margin: 6px 20px 0; color: var(--ok); min-height: 1.2em; }
.secret { border: 2px solid #c58a00; background: var(--warn-bg); }
.secret .warning { color: #6b4a00; }
#secret-value { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 14px; }
.chips { list-style: none; padding: 0; margin: 4px 0; display: flex; flex-wrap: wrap; gap: 6px; }
.chips li { border: 1px solid var(--line); border-radius: 12px; padding: 2px 4px 2px 10px; display: flex; align-items: center; gap: 6px; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.chips button { padding: 0 7px; font-size: 12px; background: #fff; color: var(--danger); border-color: var(--danger); }
.chips li.none { border: none; padding-left: 0; color: var(--muted); font-family: inherit; font-style: italic; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; } dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
dialog { border: 1px solid var(--line); border-radius: 6px; padding: 16px 18px; max-width: 480px; }
dialog::backdrop { background: rgba(20, 33, 61, .35); }
dialog label { margin-bottom: 10px; }
[hidden] { display: none !important; }
`

/**
 * The console's script. Plain ES2020, no dependency. Kept free of template literals so it can
 * live in this `String.raw` constant unchanged.
 */
export const CONSOLE_JS = String.raw`(function () {
  'use strict';
  var body = document.body;
  var API = body.getAttribute('data-api') || '';
  var AUTH_HEADER = body.getAttribute('data-auth-header') || '';
  var AUTH_FORMAT = body.getAttribute('data-auth-format') || '';

  // The administrator's key lives in this variable only: never in storage, cookies, the URL or the DOM.
  var adminKey = null;
  var me = null;
  var groups = [];
  var keys = [];
  var detailId = null;

  function $(id) { return document.getElementById(id); }
  function el(tag, value, cls) {
    var e = document.createElement(tag);
    if (value !== undefined && value !== null) e.textContent = String(value);
    if (cls) e.className = cls;
    return e;
  }
  function btn(label, action, disabled, title) {
    var b = el('button', label);
    b.type = 'button';
    b.setAttribute('data-action', action);
    if (disabled) b.disabled = true;
    if (title) b.title = title;
    return b;
  }
  function fmtTime(ms) {
    if (typeof ms !== 'number' || !isFinite(ms)) return '';
    return new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  }

  function ApiError(status, problem) { this.status = status; this.problem = problem; }

  function describe(err) {
    if (err instanceof ApiError) {
      var p = err.problem;
      if (p && typeof p === 'object' && typeof p.detail === 'string') {
        return (typeof p.title === 'string' ? p.title : 'Error') + ' (' + err.status + '): ' + p.detail;
      }
      return 'The server answered with status ' + err.status + '.';
    }
    return 'The server could not be reached. Check the connection and try again.';
  }
  function showError(err) {
    $('error-text').textContent = typeof err === 'string' ? err : describe(err);
    $('error').hidden = false;
    say('');
  }
  function clearError() { $('error').hidden = true; $('error-text').textContent = ''; }
  function say(message) { $('status').textContent = message; }

  function authValue(key) {
    if (AUTH_FORMAT === 'bearer') return 'Bearer ' + key;
    if (AUTH_FORMAT === 'basic') return 'Basic ' + btoa(key + ':');
    if (AUTH_FORMAT === 'rest_api_key') return 'rest_api_key=' + key;
    return key;
  }

  async function api(method, path, payload) {
    if (adminKey === null) throw new ApiError(401, { title: 'Signed out', detail: 'Sign in again.' });
    var headers = {};
    headers[AUTH_HEADER] = authValue(adminKey);
    var init = { method: method, headers: headers, cache: 'no-store', credentials: 'omit', redirect: 'error', referrerPolicy: 'no-referrer' };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(payload);
    }
    var res = await fetch(API + path, init);
    if (res.status === 204) return null;
    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  // Runs an action; shows its failure in words. A refused admin key ends the session.
  async function run(action) {
    clearError();
    try {
      await action();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && me !== null) {
        signOut();
        showError('Your administrator key was refused, so you have been signed out. ' + describe(err));
      } else {
        showError(err);
      }
    }
  }

  function ask(opts) {
    return new Promise(function (resolve) {
      var d = $('dialog'), form = $('dialog-form'), cancel = $('dialog-cancel'), input = $('dialog-input');
      $('dialog-message').textContent = opts.message;
      $('dialog-field').hidden = !opts.label;
      $('dialog-label').textContent = opts.label || '';
      input.type = opts.type || 'text';
      input.value = opts.value || '';
      if (opts.type === 'number') { input.min = '0'; input.step = 'any'; }
      $('dialog-confirm').textContent = opts.confirm || 'Confirm';
      function done(value) {
        form.removeEventListener('submit', onSubmit);
        cancel.removeEventListener('click', onCancel);
        d.removeEventListener('cancel', onCancel);
        if (d.open) d.close();
        input.value = '';
        resolve(value);
      }
      function onSubmit(ev) { ev.preventDefault(); done(opts.label ? input.value : true); }
      function onCancel(ev) { if (ev) ev.preventDefault(); done(null); }
      form.addEventListener('submit', onSubmit);
      cancel.addEventListener('click', onCancel);
      d.addEventListener('cancel', onCancel);
      d.showModal();
      (opts.label ? input : $('dialog-confirm')).focus();
    });
  }

  // ---- session ---------------------------------------------------------------------------------
  function signOut() {
    adminKey = null;
    me = null;
    groups = [];
    keys = [];
    detailId = null;
    hideSecret();
    $('groups-table').tBodies[0].replaceChildren();
    $('keys-table').tBodies[0].replaceChildren();
    $('detail').hidden = true;
    $('app').hidden = true;
    $('session').hidden = true;
    $('session-text').textContent = '';
    $('signin').hidden = false;
    say('');
  }

  $('signin-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var input = $('signin-key');
    var key = input.value.trim();
    input.value = '';
    clearError();
    if (!AUTH_FORMAT) { showError('This console cannot sign in: the server accepts no key scheme the console can send.'); return; }
    if (!key) { showError('Enter an administrator API key.'); return; }
    if (!/^[\x21-\x7e]+$/.test(key)) { showError('An API key is made of visible ASCII characters only; check what you pasted.'); return; }
    adminKey = key;
    run(async function () {
      try {
        me = await api('GET', '/me');
      } catch (err) {
        adminKey = null;
        throw err;
      }
      $('session-text').textContent = 'Signed in with key ' + me.keyId + ' (' + me.kind + (me.tenant ? ', tenant ' + me.tenant : ', no tenant') + ')';
      $('session').hidden = false;
      $('signin').hidden = true;
      $('app').hidden = false;
      var role = $('key-form').elements.namedItem('role');
      role.replaceChildren(new Option('(none)', ''));
      (me.roles || []).forEach(function (r) { role.appendChild(new Option(r, r)); });
      await refresh();
      say('Signed in.');
    });
  });
  $('signout').addEventListener('click', function () { signOut(); clearError(); say('Signed out.'); });
  $('error-close').addEventListener('click', clearError);

  async function refresh() {
    var g = await api('GET', '/groups');
    var k = await api('GET', '/keys');
    groups = g.items;
    keys = k.items;
    render();
  }

  // ---- rendering -------------------------------------------------------------------------------
  function groupName(id) {
    for (var i = 0; i < groups.length; i++) if (groups[i].id === id) return groups[i].name;
    return id;
  }
  function badge(active) { return el('span', active ? 'active' : 'inactive', 'badge ' + (active ? 'on' : 'off')); }
  function fillGroupSelect(select, first) {
    var keep = select.value;
    select.replaceChildren(new Option(first, ''));
    groups.forEach(function (g) { select.appendChild(new Option(g.name + (g.active ? '' : ' (inactive)'), g.id)); });
    select.value = groups.some(function (g) { return g.id === keep; }) ? keep : '';
  }

  function render() {
    fillGroupSelect($('keys-filter'), 'all groups');
    fillGroupSelect($('key-form').elements.namedItem('group'), '(no group)');
    var gb = $('groups-table').tBodies[0];
    gb.replaceChildren();
    groups.forEach(function (g) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-group-id', g.id);
      var count = keys.filter(function (k) { return k.group === g.id; }).length;
      var actions = el('td', null, 'actions');
      actions.append(btn(g.active ? 'Deactivate' : 'Activate', g.active ? 'deactivate' : 'activate'), btn('Delete', 'delete'));
      var status = el('td');
      status.append(badge(g.active));
      tr.append(el('td', g.name), el('td', g.description || '', 'desc'), status, el('td', count), el('td', g.id, 'id'), actions);
      gb.appendChild(tr);
    });
    $('groups-empty').hidden = groups.length > 0;

    var filter = $('keys-filter').value;
    var shown = keys.filter(function (k) { return !filter || k.group === filter; });
    var kb = $('keys-table').tBodies[0];
    kb.replaceChildren();
    var now = Date.now();
    shown.forEach(function (k) {
      var self = me !== null && k.id === me.keyId;
      var tr = document.createElement('tr');
      tr.setAttribute('data-key-id', k.id);
      var idCell = el('td', k.id, 'id');
      if (self) idCell.appendChild(el('span', 'this session', 'sub'));
      var status = el('td', null, 'status-cell');
      status.append(badge(k.active));
      if (typeof k.previousExpiresAt === 'number' && k.previousExpiresAt > now) {
        status.appendChild(el('span', 'previous key valid until ' + fmtTime(k.previousExpiresAt), 'sub'));
      }
      var why = self ? 'This is the key you are signed in with; use another administrator key to change it.' : '';
      var actions = el('td', null, 'actions');
      actions.append(
        btn(k.active ? 'Deactivate' : 'Activate', k.active ? 'deactivate' : 'activate', self, why),
        btn('Rotate', 'rotate'),
        btn('Edit', 'edit', self, why),
        btn('Delete', 'delete', self, why)
      );
      tr.append(idCell, el('td', k.kind), el('td', k.owner || ''), el('td', k.role || ''), el('td', k.group ? groupName(k.group) : ''),
        el('td', k.description || '', 'desc'), status, el('td', k.expiresAt ? fmtTime(k.expiresAt) : 'never'), actions);
      kb.appendChild(tr);
    });
    $('keys-empty').hidden = shown.length > 0;
    renderDetail();
  }

  function replaceKey(record) {
    for (var i = 0; i < keys.length; i++) if (keys[i].id === record.id) { keys[i] = record; return; }
    keys.push(record);
  }
  function replaceGroup(group) {
    for (var i = 0; i < groups.length; i++) if (groups[i].id === group.id) { groups[i] = group; return; }
    groups.push(group);
  }

  // ---- the one-time secret ---------------------------------------------------------------------
  function showSecret(key, note) {
    $('secret-value').value = key;
    $('secret-for').textContent = note;
    $('secret-copy-status').textContent = '';
    $('secret').hidden = false;
    $('secret').scrollIntoView({ block: 'nearest' });
    $('secret-copy').focus();
  }
  function hideSecret() {
    $('secret-value').value = '';
    $('secret-for').textContent = '';
    $('secret-copy-status').textContent = '';
    $('secret').hidden = true;
  }
  $('secret-done').addEventListener('click', hideSecret);
  $('secret-copy').addEventListener('click', async function () {
    var input = $('secret-value');
    var copied = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(input.value);
        copied = true;
      }
    } catch (e) {
      copied = false;
    }
    if (!copied) {
      // Fallback: select the key so the user can copy it by hand (or execCommand where it still works).
      input.focus();
      input.select();
      try { copied = document.execCommand('copy'); } catch (e) { copied = false; }
    }
    $('secret-copy-status').textContent = copied ? 'Copied to the clipboard.' : 'The key is selected: press Ctrl+C (or Cmd+C) to copy it.';
  });

  // ---- groups ----------------------------------------------------------------------------------
  $('group-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var f = ev.target;
    var payload = { name: f.elements.namedItem('name').value.trim() };
    var d = f.elements.namedItem('description').value;
    if (d) payload.description = d;
    run(async function () {
      var g = await api('POST', '/groups', payload);
      replaceGroup(g);
      f.reset();
      render();
      say('Group ' + g.name + ' created.');
    });
  });

  $('groups-table').addEventListener('click', function (ev) {
    var b = ev.target.closest('button[data-action]');
    if (!b) return;
    var id = b.closest('tr').getAttribute('data-group-id');
    var action = b.getAttribute('data-action');
    run(async function () {
      if (action === 'delete') {
        if (!(await ask({ message: 'Delete group ' + groupName(id) + '? Only an empty group can be deleted.', confirm: 'Delete group' }))) return;
        await api('DELETE', '/groups/' + encodeURIComponent(id));
        groups = groups.filter(function (g) { return g.id !== id; });
        render();
        say('Group deleted.');
      } else {
        if (action === 'deactivate' && !(await ask({ message: 'Deactivate group ' + groupName(id) + '? Every key in it is refused until it is activated again.', confirm: 'Deactivate group' }))) return;
        replaceGroup(await api('POST', '/groups/' + encodeURIComponent(id) + '/' + action));
        render();
        say('Group ' + (action === 'activate' ? 'activated.' : 'deactivated.'));
      }
    });
  });

  // ---- keys ------------------------------------------------------------------------------------
  $('keys-filter').addEventListener('change', render);

  function lines(value, split) {
    return value.split(split).map(function (s) { return s.trim(); }).filter(function (s) { return s.length > 0; });
  }
  var kindSelect = $('key-form').elements.namedItem('kind');
  kindSelect.addEventListener('change', function () {
    $('key-form').elements.namedItem('role').disabled = kindSelect.value !== 'user';
  });

  $('key-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var f = ev.target;
    var v = function (n) { return f.elements.namedItem(n).value; };
    var payload = { kind: v('kind'), active: f.elements.namedItem('active').checked };
    if (v('owner').trim()) payload.owner = v('owner').trim();
    if (v('role') && payload.kind === 'user') payload.role = v('role');
    if (v('group')) payload.group = v('group');
    if (v('description')) payload.description = v('description');
    var ips = lines(v('allowedIps'), /[\s,]+/);
    if (ips.length) payload.allowedIps = ips;
    var grants = lines(v('grants'), /\n/);
    if (grants.length) payload.grants = grants;
    if (v('expiresAt')) {
      var t = new Date(v('expiresAt')).getTime();
      if (!isFinite(t)) { showError('The expiry date is not valid.'); return; }
      payload.expiresAt = t;
    }
    run(async function () {
      var res = await api('POST', '/keys', payload);
      replaceKey(res.record);
      f.reset();
      $('key-form').elements.namedItem('role').disabled = false;
      render();
      showSecret(res.key, 'Key ' + res.record.id + ' was created.');
      say('Key ' + res.record.id + ' created.');
    });
  });

  $('keys-table').addEventListener('click', function (ev) {
    var b = ev.target.closest('button[data-action]');
    if (!b || b.disabled) return;
    var id = b.closest('tr').getAttribute('data-key-id');
    var action = b.getAttribute('data-action');
    var path = '/keys/' + encodeURIComponent(id);
    run(async function () {
      if (action === 'edit') {
        detailId = id;
        renderDetail();
        $('detail').scrollIntoView({ block: 'nearest' });
      } else if (action === 'delete') {
        if (!(await ask({ message: 'Delete key ' + id + '? Clients using it are refused at once. This cannot be undone.', confirm: 'Delete key' }))) return;
        await api('DELETE', path);
        keys = keys.filter(function (k) { return k.id !== id; });
        if (detailId === id) detailId = null;
        render();
        say('Key ' + id + ' deleted.');
      } else if (action === 'rotate') {
        var grace = await ask({
          message: 'Rotate key ' + id + '? A new key is issued now. The current key keeps working during the grace period, then it is refused.',
          label: 'Grace period (seconds)', value: '3600', type: 'number', confirm: 'Rotate key',
        });
        if (grace === null) return;
        var seconds = Number(grace);
        if (grace.trim() === '' || !isFinite(seconds) || seconds < 0) { showError('The grace period must be a number of seconds, 0 or more.'); return; }
        var res = await api('POST', path + '/rotate', { graceMs: Math.round(seconds * 1000) });
        // Rotating the session's own key: carry on with the new one.
        if (me !== null && id === me.keyId) adminKey = res.key;
        replaceKey(res.record);
        render();
        showSecret(res.key, 'Key ' + id + ' was rotated. The previous key stops working at ' + fmtTime(res.record.previousExpiresAt) + '.');
        say('Key ' + id + ' rotated.');
      } else {
        if (action === 'deactivate' && !(await ask({ message: 'Deactivate key ' + id + '? Clients using it are refused until it is activated again.', confirm: 'Deactivate key' }))) return;
        replaceKey(await api('POST', path + '/' + action));
        render();
        say('Key ' + id + (action === 'activate' ? ' activated.' : ' deactivated.'));
      }
    });
  });

  // ---- key detail: description, allowed addresses, grants -------------------------------------
  function current() {
    for (var i = 0; i < keys.length; i++) if (keys[i].id === detailId) return keys[i];
    return null;
  }
  function chip(value, action) {
    var li = el('li');
    li.setAttribute('data-value', value);
    var b = btn('remove', action);
    b.setAttribute('aria-label', 'Remove ' + value);
    li.append(el('span', value), b);
    return li;
  }
  function renderDetail() {
    var k = current();
    if (!k) { $('detail').hidden = true; detailId = null; return; }
    $('detail').hidden = false;
    $('detail').setAttribute('data-key-id', k.id);
    $('detail-title').textContent = 'Edit key ' + k.id;
    var facts = $('detail-facts');
    facts.replaceChildren();
    [['Kind', k.kind], ['Owner', k.owner], ['Role', k.role], ['Tenant', k.tenant], ['Group', k.group ? groupName(k.group) : ''],
      ['Created', fmtTime(k.createdAt)], ['Last used', k.lastUsedAt ? fmtTime(k.lastUsedAt) : 'never']].forEach(function (p) {
      facts.append(el('dt', p[0]), el('dd', p[1] || '—'));
    });
    if (document.activeElement !== $('detail-desc')) $('detail-desc').value = k.description || '';
    var ips = $('detail-ips');
    ips.replaceChildren();
    (k.allowedIps || []).forEach(function (ip) { ips.appendChild(chip(ip, 'remove-ip')); });
    $('detail-ips-mode').textContent = k.allowedIps === undefined
      ? 'No restriction: any client address is accepted (the group may still restrict it).'
      : k.allowedIps.length === 0
        ? 'Empty list: no address is accepted, so the key cannot be used. Add an address or remove the restriction.'
        : 'Only these addresses are accepted:';
    $('detail-ips-clear').hidden = k.allowedIps === undefined;
    var grants = $('detail-grants');
    grants.replaceChildren();
    (k.grants || []).forEach(function (g) { grants.appendChild(chip(g, 'remove-grant')); });
    if (!k.grants || k.grants.length === 0) grants.appendChild(el('li', 'none granted', 'none'));
  }
  function detailPath() { return '/keys/' + encodeURIComponent(detailId); }
  function afterEdit(record, message) { replaceKey(record); render(); say(message); }

  $('detail-close').addEventListener('click', function () { detailId = null; renderDetail(); });
  $('detail-desc-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var d = $('detail-desc').value;
    run(async function () { afterEdit(await api('PATCH', detailPath(), { description: d === '' ? null : d }), 'Description saved.'); });
  });
  $('detail-ip-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var entries = lines($('detail-ip').value, /[\s,]+/);
    if (!entries.length) { showError('Enter an IPv4 or IPv6 address, optionally with a /prefix.'); return; }
    run(async function () {
      afterEdit(await api('POST', detailPath() + '/allowed-ips/add', { entries: entries }), 'Address added.');
      $('detail-ip').value = '';
    });
  });
  $('detail-grant-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var op = $('detail-grant').value.trim();
    if (!op) { showError('Enter an operation name.'); return; }
    run(async function () {
      afterEdit(await api('POST', detailPath() + '/grants/add', { operations: [op] }), 'Operation granted.');
      $('detail-grant').value = '';
    });
  });
  $('detail-ips-clear').addEventListener('click', function () {
    run(async function () {
      if (!(await ask({ message: 'Remove the address restriction of key ' + detailId + '? It will be accepted from any address its group allows.', confirm: 'Remove restriction' }))) return;
      afterEdit(await api('PATCH', detailPath(), { allowedIps: null }), 'Address restriction removed.');
    });
  });
  $('detail').addEventListener('click', function (ev) {
    var b = ev.target.closest('li button[data-action]');
    if (!b) return;
    var value = b.closest('li').getAttribute('data-value');
    var action = b.getAttribute('data-action');
    run(async function () {
      if (action === 'remove-ip') afterEdit(await api('POST', detailPath() + '/allowed-ips/remove', { entries: [value] }), 'Address removed.');
      else afterEdit(await api('POST', detailPath() + '/grants/remove', { operations: [value] }), 'Grant revoked.');
    });
  });

  if (!AUTH_FORMAT) showError('This console cannot sign in: the server accepts no key scheme the console can send.');
  $('signin-key').focus();
})();
`
