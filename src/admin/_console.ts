/**
 * The web console: one HTML page, one script and one stylesheet, served by the admin handler.
 * No framework, no external asset, no inline script or style (the page is served
 * under `script-src 'self'; style-src 'self'`). The administrator's key is held in a closure
 * variable of the script only: never in storage, cookies, the URL or the DOM after sign-in.
 * Every piece of data from the API is rendered with `textContent`, never parsed as HTML.
 * @module
 */

export { CONSOLE_JS } from './_console-script.js'

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

/** The page's bar, error and status lines, and the sign-in form: all that shows before sign-in. */
const SIGN_IN = `<a class="skip" href="#create-card">Skip to issue a key</a> <a class="skip" href="#keys-card">Skip to the key list</a>
<header class="bar">
  <h1>keyward <span>API keys</span></h1>
  <div id="session" hidden><span id="session-text"></span> <button type="button" id="signout">Sign out</button></div>
</header>
<noscript><p class="card">This console needs JavaScript.</p></noscript>
<div id="error" class="error" role="alert" hidden><p id="error-text"></p><button type="button" id="error-close">Dismiss</button></div>
<p id="status" class="status" role="status" aria-live="polite"></p>
<section id="signin" class="card narrow" aria-labelledby="signin-title">
  <h2 id="signin-title">Sign in</h2>
  <form id="signin-form" autocomplete="off">
    <label for="signin-key">Administrator API key</label>
    <div class="row"><input id="signin-key" type="password" autocomplete="off" spellcheck="false"><button type="submit" id="signin-button">Sign in</button></div>
  </form>
  <p class="hint">The key is kept in this page's memory only. It is never stored, and reloading the page signs you out.</p>
</section>
`

/** The panel that shows a new key once, and the form that issues one. */
const ISSUE_SECTIONS = `  <section id="secret" class="card secret" hidden aria-labelledby="secret-title">
    <h2 id="secret-title">New key: copy it now</h2>
    <p class="warning"><strong>This key will not be shown again.</strong> Store it in a secret manager before you hide this panel.</p>
    <p id="secret-for"></p>
    <div class="row"><input id="secret-value" type="text" readonly spellcheck="false" autocomplete="off" aria-label="New API key"><button type="button" id="secret-copy">Copy</button></div>
    <p id="secret-copy-status" class="hint" role="status"></p>
    <button type="button" id="secret-done">I have stored it: hide the key</button>
  </section>
  <section id="create-card" class="card" aria-labelledby="create-title" tabindex="-1">
    <h2 id="create-title">Issue a key</h2>
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
`

/** The key search form and the paged key table. */
const KEYS_SECTION = `  <section id="keys-card" class="card" aria-labelledby="keys-title" tabindex="-1">
    <h2 id="keys-title">Keys</h2>
    <form id="search-form" class="grid search" role="search" aria-label="Find keys" autocomplete="off">
      <label>Owner <input name="owner" maxlength="256" placeholder="ana@example.com"></label>
      <label>Key start <input name="prefix" maxlength="4096" spellcheck="false" placeholder="kw_live_3kTM" aria-describedby="prefix-hint"></label>
      <label>Description contains <input name="q" maxlength="128"></label>
      <label>Group <select id="keys-filter"><option value="">all groups</option></select></label>
      <label>Kind <select name="kind"><option value="">any kind</option><option value="user">user</option><option value="org">org</option><option value="tenant">tenant</option></select></label>
      <label>Role <select name="role"><option value="">any role</option></select></label>
      <label>Status <select name="status"><option value="">any status</option><option value="active">active</option><option value="inactive">inactive</option><option value="expired">expired</option><option value="leaked">leaked</option></select></label>
      <label>Expires within <select name="expiresWithin"><option value="">any time</option><option value="7">7 days</option><option value="30">30 days</option><option value="90">90 days</option></select></label>
      <div class="row"><button type="submit">Search</button><button type="reset" class="quiet">Clear</button></div>
    </form>
    <p id="prefix-hint" class="hint">Paste a leaked key here: only its start (prefix and 4 characters, never enough to use it) is sent.</p>
    <div class="table-wrap">
    <table id="keys-table"><caption class="sr-only">Keys, one page</caption><thead><tr><th scope="col">Key</th><th scope="col">Kind</th><th scope="col" data-sort="owner"><button type="button" class="sort">Owner</button></th><th scope="col">Role</th><th scope="col">Group</th><th scope="col">Description</th><th scope="col">Status</th><th scope="col" data-sort="created"><button type="button" class="sort">Created</button></th><th scope="col" data-sort="lastUsed"><button type="button" class="sort">Last used</button></th><th scope="col" data-sort="expires"><button type="button" class="sort">Expires</button></th><th scope="col">Actions</th></tr></thead><tbody></tbody></table>
    </div>
    <p id="keys-empty" class="hint" hidden>No keys.</p>
    <nav class="row pager" aria-label="Key list pages"><button type="button" id="keys-prev" class="quiet">Previous page</button><span id="keys-page-info" aria-live="polite"></span><button type="button" id="keys-next" class="quiet">Next page</button></nav>
  </section>
`

/**
 * One key's details: facts, access, description, addresses, grants, then usage and audit trail.
 * What loads after the page is drawn (usage, trail) comes after every control, so its arrival
 * never moves a control under a pointer that is about to click it.
 */
const DETAIL_SECTION = `  <section id="detail" class="card" hidden aria-labelledby="detail-title">
    <h2 id="detail-title" tabindex="-1"></h2>
    <p><button type="button" id="detail-close">Close</button></p>
    <dl id="detail-facts"></dl>
    <h3>Access</h3>
    <form id="detail-edit-form" class="grid" autocomplete="off" data-field-ratelimit="capacity">
      <label>Role <select name="role"></select></label>
      <label>Scopes (narrow the role) <textarea name="scopes" rows="2" placeholder="resource:level, one per line"></textarea></label>
      <label>Expires <input name="expiresAt" type="datetime-local"></label>
      <label>Rate limit: burst <input name="capacity" type="number" min="1" step="1"></label>
      <label>Rate limit: requests per second <input name="refillPerSecond" type="number" min="0" step="any"></label>
      <div><button type="submit">Save access</button></div>
    </form>
    <h3>Description</h3>
    <form id="detail-desc-form" class="row" autocomplete="off"><input id="detail-desc" name="description" maxlength="1024" aria-label="Description"><button type="submit">Save description</button></form>
    <h3>Allowed client addresses</h3>
    <p id="detail-ips-mode" class="hint"></p>
    <ul id="detail-ips" class="chips"></ul>
    <form id="detail-ip-form" class="row" autocomplete="off" data-field-entries="entry"><input id="detail-ip" name="entry" placeholder="203.0.113.0/24" aria-label="Address or CIDR"><button type="submit">Add address</button></form>
    <p><button type="button" id="detail-ips-clear">Remove the restriction (accept any address)</button></p>
    <h3>Granted operations</h3>
    <ul id="detail-grants" class="chips"></ul>
    <form id="detail-grant-form" class="row" autocomplete="off" data-field-operations="operation"><input id="detail-grant" name="operation" placeholder="getProjects" aria-label="Operation"><button type="submit">Grant operation</button></form>
    <h3>Usage</h3>
    <div id="detail-usage" class="usage-grid"></div>
    <h3>Audit trail of this key</h3>
    <div class="table-wrap"><table id="detail-audit" class="audit"><thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Which</th><th scope="col">Outcome</th><th scope="col">Where</th></tr></thead><tbody></tbody></table></div>
    <p id="detail-audit-empty" class="hint"></p>
  </section>
`

/** The key groups table and forms, and the audit trail. */
const GROUPS_AND_AUDIT = `  <section id="groups-card" class="card" aria-labelledby="groups-title">
    <h2 id="groups-title">Key groups</h2>
    <div class="table-wrap">
    <table id="groups-table"><thead><tr><th scope="col">Name</th><th scope="col">Description</th><th scope="col">Status</th><th scope="col">Allowed addresses</th><th scope="col">ID</th><th scope="col">Actions</th></tr></thead><tbody></tbody></table>
    </div>
    <p id="groups-empty" class="hint" hidden>No key groups yet.</p>
    <form id="group-ips-form" class="card inset" hidden autocomplete="off">
      <h3 id="group-ips-title"></h3>
      <label>Allowed addresses (empty: any address) <textarea name="allowedIps" rows="3" placeholder="one per line, e.g. 198.51.100.0/24"></textarea></label>
      <div class="row"><button type="submit">Save addresses</button><button type="button" id="group-ips-cancel" class="quiet">Cancel</button></div>
    </form>
    <form id="group-form" class="row wrap" autocomplete="off">
      <label>Name <input name="name" maxlength="128"></label>
      <label>Description <input name="description" maxlength="1024"></label>
      <button type="submit">Create group</button>
    </form>
  </section>
  <section id="audit-card" class="card" aria-labelledby="audit-title">
    <h2 id="audit-title">Audit trail</h2>
    <form id="audit-form" class="row wrap" autocomplete="off"><label>Key or group id <input id="audit-key" name="key" maxlength="128"></label><button type="submit">Show</button></form>
    <div class="table-wrap"><table id="audit-table" class="audit"><thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Which</th><th scope="col">Outcome</th><th scope="col">Where</th></tr></thead><tbody></tbody></table></div>
    <p id="audit-empty" class="hint"></p>
    <button type="button" id="audit-more" class="quiet" hidden>Older entries</button>
  </section>
`

/** The confirmation dialog. */
const DIALOG = `<dialog id="dialog" aria-labelledby="dialog-message">
  <form id="dialog-form" autocomplete="off">
    <p id="dialog-message"></p>
    <label id="dialog-field" hidden><span id="dialog-label"></span> <input id="dialog-input"></label>
    <div class="row"><button type="submit" id="dialog-confirm">Confirm</button><button type="button" id="dialog-cancel">Cancel</button></div>
  </form>
</dialog>
`

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
${SIGN_IN}<main id="app" hidden>
${ISSUE_SECTIONS}${KEYS_SECTION}${DETAIL_SECTION}${GROUPS_AND_AUDIT}</main>
${DIALOG}</body>
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
.skip { position: absolute; left: 8px; top: -40px; background: #fff; color: var(--accent); padding: 6px 10px; border-radius: 4px; z-index: 10; }
.skip:focus { top: 8px; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.table-wrap { max-width: 100%; overflow-x: auto; }
th button.sort { background: none; border: none; color: inherit; font: inherit; text-transform: inherit; letter-spacing: inherit; padding: 0; cursor: pointer; text-decoration: underline dotted; }
th[aria-sort="ascending"] button.sort::after { content: " ▲"; } th[aria-sort="descending"] button.sort::after { content: " ▼"; }
button.quiet { background: #fff; color: var(--accent); }
button:focus-visible, a:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible, summary:focus-visible { outline: 3px solid #f0a500; outline-offset: 1px; }
.search { margin-bottom: 4px; }
.pager { justify-content: space-between; flex-wrap: wrap; }
.muted { color: var(--muted); }
time { text-decoration: underline dotted var(--line); }
.field-error { color: var(--danger); font-size: 12px; margin: 4px 0 0; }
[aria-invalid="true"] { border-color: var(--danger); box-shadow: 0 0 0 1px var(--danger); }
.card.inset { margin: 10px 0; background: var(--bg); }
.usage-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px; }
figure.usage { margin: 0; } figure.usage figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { width: 100%; height: auto; background: #fafbfc; border: 1px solid var(--line); border-radius: 4px; }
svg.chart .axis { stroke: var(--muted); stroke-width: 1; } svg.chart .tick { fill: var(--muted); font-size: 11px; }
.o-allowed { fill: #2e7d4f; background: #2e7d4f; } .o-deny0 { fill: #c0392b; background: #c0392b; } .o-deny1 { fill: #d68910; background: #d68910; }
.o-deny2 { fill: #7d3c98; background: #7d3c98; } .o-deny3 { fill: #2471a3; background: #2471a3; } .o-deny4 { fill: #6e2c00; background: #6e2c00; } .o-deny5 { fill: #566573; background: #566573; }
.legend { list-style: none; padding: 0; margin: 6px 0; display: flex; flex-wrap: wrap; gap: 10px; font-size: 12px; }
.legend li { display: flex; align-items: center; gap: 4px; } .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; }
tr.leak td { background: #fdecea; }
@media (max-width: 640px) {
  .bar { flex-wrap: wrap; gap: 6px; padding: 10px 12px; } .card { margin: 10px 8px; padding: 12px; } .error, .status { margin-left: 8px; margin-right: 8px; }
  .grid { grid-template-columns: 1fr; }
  .table-wrap table, .table-wrap thead, .table-wrap tbody, .table-wrap tr, .table-wrap td, .table-wrap th { display: block; }
  .table-wrap thead tr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  .table-wrap tr { border: 1px solid var(--line); border-radius: 6px; margin-bottom: 8px; padding: 4px 6px; }
  .table-wrap td { border: none; padding: 3px 4px; }
  .table-wrap td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); font-size: 12px; }
  td.actions { white-space: normal; } td.desc { max-width: none; }
  .row:not(.pager) { flex-wrap: wrap; }
  dl { grid-template-columns: 1fr; }
}
`
