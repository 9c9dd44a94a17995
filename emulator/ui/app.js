// The kv-emulator dashboard: a client of the emulator's admin API (/_emulator/...) and nothing else,
// written as a plain ES module the browser loads as it is (no framework, no build step). Every piece of
// data reaches the page as text nodes (never as HTML), and a secret's value is fetched only when a person
// presses its Reveal button. Views are registered in VIEWS below: a new section of the admin API gets a
// view by adding an entry there (as event subscriptions and deliveries did).

const API = '/_emulator';
const DAY = 86_400;
/** Key Vault's near-expiry notice comes 30 days before a secret expires (Event Grid SecretNearExpiry). */
const NEAR_EXPIRY_DAYS = 30;
const AUDIT_ROWS = 200;

// ---------- small helpers ----------

/** Builds an element: attributes (on*: listeners), then children (strings become text nodes). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls the admin API; an error answer becomes an ApiError with the service's own code and message. */
async function api(path, { method = 'GET', body } = {}) {
  const response = await fetch(API + path, {
    method,
    headers: { accept: 'application/json', ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = parsed && parsed.error;
    throw new ApiError(response.status, error ? error.code : String(response.status), error ? error.message : text || response.statusText);
  }
  return parsed;
}

function announce(message) {
  const status = document.getElementById('status');
  status.textContent = '';
  // A change the screen reader hears even when the same words come twice.
  setTimeout(() => (status.textContent = message), 50);
}

const errorBox = (error) => h('div', { class: 'error', role: 'alert' }, error instanceof ApiError ? `${error.code}: ${error.message}` : String(error.message || error));
const when = (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—');
const seconds = (iso) => (iso ? Date.parse(iso) / 1000 : undefined);

/** A table whose cells name their column (read out in a narrow window, where rows become cards). */
function table(caption, columns, rows, options = {}) {
  return h(
    'table',
    { class: 'cards', ...(options.id && { id: options.id }) },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: columns.length }, options.empty || 'None.'))),
  );
}

function row(columns, cells, attrs = {}) {
  return h('tr', attrs, cells.map((cell, i) => (cell instanceof Node && cell.tagName === 'TD' ? cell : h('td', { 'data-label': columns[i] }, cell))));
}

function badge(text, kind) {
  return h('span', { class: `badge ${kind}` }, text);
}

/** The state of a secret or version on the emulator clock: disabled, expired, not yet valid, near expiry. */
function stateBadges(item, nowSeconds) {
  const badges = [];
  if (item.managed) badges.push(badge('Managed', 'info'));
  if (item.enabled === false) badges.push(badge('Disabled', 'bad'));
  const exp = seconds(item.expires);
  const nbf = seconds(item.notBefore);
  if (exp !== undefined && exp <= nowSeconds) badges.push(badge('Expired', 'bad'));
  else if (exp !== undefined && exp - nowSeconds <= NEAR_EXPIRY_DAYS * DAY) badges.push(badge('Near expiry', 'warn'));
  if (nbf !== undefined && nbf > nowSeconds) badges.push(badge('Not yet valid', 'warn'));
  if (badges.length === 0) badges.push(badge('Active', 'ok'));
  return badges;
}

function tagsText(tags) {
  const entries = Object.entries(tags || {});
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(', ') : '—';
}

async function clockNow() {
  const clock = await api('/clock');
  document.getElementById('clock-badge').textContent = `Emulator clock ${when(clock.now)}${clock.frozen ? ' (frozen)' : ''}`;
  return clock;
}

// ---------- views ----------

async function vaultsView(main) {
  const { value: vaults } = await api('/vaults');
  const columns = ['Name', 'Soft-delete retention', 'Purge protection', 'Permission model', 'Created'];
  main.append(
    h('h1', { tabindex: '-1' }, 'Vaults'),
    h('p', { class: 'hint' }, 'Every vault of the emulator and its settings. Open one to see its secrets.'),
    table(
      `${vaults.length} vault${vaults.length === 1 ? '' : 's'}`,
      columns,
      vaults.map((v) =>
        row(columns, [
          h('a', { href: `#/vaults/${encodeURIComponent(v.name)}` }, v.name),
          `${v.softDeleteRetentionInDays} days`,
          v.purgeProtection ? 'On' : 'Off',
          v.permissionModel === 'rbac' ? 'Azure RBAC' : 'Access policies',
          when(v.createdAt),
        ]),
      ),
    ),
  );
}

async function vaultView(main, name) {
  const [vault, clock, secrets, deleted] = await Promise.all([
    api(`/vaults/${encodeURIComponent(name)}`),
    clockNow(),
    api(`/vaults/${encodeURIComponent(name)}/secrets`),
    api(`/vaults/${encodeURIComponent(name)}/deletedsecrets`),
  ]);
  const now = clock.nowEpochSeconds;
  main.append(
    h('h1', { tabindex: '-1' }, `Vault ${vault.name}`),
    h(
      'dl',
      { class: 'settings' },
      h('dt', {}, 'Soft-delete retention'),
      h('dd', {}, `${vault.softDeleteRetentionInDays} days`),
      h('dt', {}, 'Purge protection'),
      h('dd', {}, vault.purgeProtection ? 'On (deleted secrets cannot be purged before their date)' : 'Off'),
      h('dt', {}, 'Permission model'),
      h('dd', {}, vault.permissionModel === 'rbac' ? 'Azure RBAC' : 'Access policies'),
      h('dt', {}, 'Vault URL'),
      h('dd', {}, h('code', {}, `https://${vault.name}.vault.localhost${location.port ? `:${location.port}` : ''}`)),
      h('dt', {}, 'Events'),
      h('dd', {}, h('a', { href: `#/events/${encodeURIComponent(vault.name)}` }, 'Event subscriptions and deliveries')),
    ),
  );

  // Secrets, each with its versions on demand and values only on an explicit reveal.
  const columns = ['Name', 'State', 'Content type', 'Tags', 'Updated', 'Expires', 'Versions'];
  const rows = [];
  for (const secret of secrets.value) {
    const versionsId = `versions-${secret.name}`;
    const holder = h('td', { colspan: columns.length, id: versionsId });
    const subRow = h('tr', { class: 'sub', hidden: true }, holder);
    const toggle = h(
      'button',
      {
        'aria-expanded': 'false',
        'aria-controls': versionsId,
        onclick: async () => {
          const open = toggle.getAttribute('aria-expanded') === 'true';
          toggle.setAttribute('aria-expanded', String(!open));
          subRow.hidden = open;
          if (!open && !holder.hasChildNodes()) await renderVersions(holder, vault.name, secret.name, now);
        },
      },
      'Versions',
    );
    toggle.setAttribute('aria-label', `Versions of ${secret.name}`);
    rows.push(
      row(columns, [h('span', { class: 'mono' }, secret.name), stateBadges(secret, now), secret.contentType || '—', tagsText(secret.tags), when(secret.updated), when(secret.expires), toggle], {
        'data-secret': secret.name,
      }),
      subRow,
    );
  }
  main.append(
    h('h2', {}, 'Secrets'),
    h('p', { class: 'hint' }, 'Values stay hidden: each is fetched only when you reveal it (and the reveal is recorded in the audit log).'),
    table(`${secrets.value.length} secret${secrets.value.length === 1 ? '' : 's'}`, columns, rows, { id: 'secrets', empty: 'No secrets.' }),
  );

  // Deleted secrets, with their purge dates and the two things one can do with them.
  const deletedColumns = ['Name', 'Deleted', 'Scheduled purge', 'Actions'];
  const deletedErrors = h('div', { id: 'deleted-errors' });
  const deletedRows = deleted.value.map((secret) => {
    const act = async (button, verb) => {
      deletedErrors.replaceChildren();
      for (const b of button.parentElement.querySelectorAll('button')) b.disabled = true;
      try {
        if (verb === 'recover') await api(`/vaults/${encodeURIComponent(vault.name)}/deletedsecrets/${encodeURIComponent(secret.name)}/recover`, { method: 'POST' });
        else await api(`/vaults/${encodeURIComponent(vault.name)}/deletedsecrets/${encodeURIComponent(secret.name)}`, { method: 'DELETE' });
        announce(verb === 'recover' ? `Recovered ${secret.name}.` : `Purged ${secret.name}.`);
        await navigate();
      } catch (error) {
        for (const b of button.parentElement.querySelectorAll('button')) b.disabled = false;
        deletedErrors.replaceChildren(errorBox(error));
        button.focus();
      }
    };
    const recover = h('button', { 'aria-label': `Recover ${secret.name}`, onclick: () => act(recover, 'recover') }, 'Recover');
    const purge = h('button', { class: 'danger', 'aria-label': `Purge ${secret.name}`, onclick: () => act(purge, 'purge') }, 'Purge');
    return row(deletedColumns, [h('span', { class: 'mono' }, secret.name), when(secret.deletedDate), when(secret.scheduledPurgeDate), h('div', { class: 'actions' }, recover, purge)], {
      'data-deleted': secret.name,
    });
  });
  main.append(
    h('h2', {}, 'Deleted secrets'),
    deletedErrors,
    table(`${deleted.value.length} deleted secret${deleted.value.length === 1 ? '' : 's'}`, deletedColumns, deletedRows, { id: 'deleted', empty: 'No deleted secrets.' }),
  );
}

async function renderVersions(holder, vault, name, now) {
  holder.append(h('p', {}, 'Loading versions…'));
  let versions;
  try {
    versions = (await api(`/vaults/${encodeURIComponent(vault)}/secrets/${encodeURIComponent(name)}/versions`)).value;
  } catch (error) {
    holder.replaceChildren(errorBox(error));
    return;
  }
  const columns = ['Version', 'State', 'Content type', 'Tags', 'Created', 'Expires', 'Value'];
  const rows = versions.map((v) => {
    const cell = h('td', { 'data-label': 'Value' });
    const reveal = h(
      'button',
      {
        'aria-label': `Reveal the value of version ${v.version}`,
        onclick: async () => {
          reveal.disabled = true;
          try {
            const { value } = await api(`/vaults/${encodeURIComponent(vault)}/secrets/${encodeURIComponent(name)}/versions/${v.version}/value`);
            const shown = h('code', { class: 'value', 'data-value': '' }, value);
            const hide = h(
              'button',
              {
                'aria-label': `Hide the value of version ${v.version}`,
                onclick: () => {
                  cell.replaceChildren(reveal);
                  reveal.disabled = false;
                  reveal.focus();
                },
              },
              'Hide',
            );
            cell.replaceChildren(shown, hide);
            hide.focus();
          } catch (error) {
            reveal.disabled = false;
            cell.replaceChildren(reveal, errorBox(error));
          }
        },
      },
      'Reveal',
    );
    cell.append(reveal);
    return row(columns, [h('span', { class: 'mono' }, v.version, v.latest ? ' (latest)' : ''), stateBadges(v, now), v.contentType || '—', tagsText(v.tags), when(v.created), when(v.expires), cell]);
  });
  holder.replaceChildren(table(`Versions of ${name}`, columns, rows));
}

async function identitiesView(main) {
  const [principals, assignments, policies] = await Promise.all([api('/identities'), api('/roleAssignments'), api('/accessPolicies')]);
  const pColumns = ['Name', 'Kind', 'Object id', 'Client id', 'From'];
  const aColumns = ['Principal', 'Role', 'Scope', 'From'];
  const apColumns = ['Vault', 'Principal', 'Secret permissions', 'From'];
  const kinds = { managedIdentity: 'Managed identity', servicePrincipal: 'Service principal', user: 'User' };
  main.append(
    h('h1', { tabindex: '-1' }, 'Identities and access'),
    h('h2', {}, 'Principals'),
    table(
      `${principals.value.length} principals`,
      pColumns,
      principals.value.map((p) => row(pColumns, [p.name, kinds[p.kind] || p.kind, h('span', { class: 'mono' }, p.objectId), h('span', { class: 'mono' }, p.clientId || p.upn || '—'), p.origin])),
    ),
    h('h2', {}, 'Role assignments'),
    table(
      `${assignments.value.length} role assignments`,
      aColumns,
      assignments.value.map((a) => row(aColumns, [a.principal.name || a.principal.objectId, a.role.name || a.role.id, h('span', { class: 'mono' }, a.scope), a.origin])),
    ),
    h('h2', {}, 'Access policies'),
    table(
      `${policies.value.length} access policies`,
      apColumns,
      policies.value.map((p) => row(apColumns, [p.vault, p.principal.name || p.principal.objectId, p.secrets.join(', ') || '—', p.origin])),
      { empty: 'No access policies (vaults using Azure RBAC ignore them).' },
    ),
  );
}

async function clockView(main) {
  const clock = await clockNow();
  const message = h('p', { class: 'notice', role: 'status' });
  const change = async (body, said) => {
    try {
      const next = await api('/clock', { method: 'PUT', body });
      announce(`${said} The emulator clock reads ${when(next.now)}.`);
      await navigate();
    } catch (error) {
      message.replaceChildren(errorBox(error));
    }
  };
  const amount = h('input', { id: 'advance-amount', type: 'number', value: '1', step: 'any', required: true });
  const unit = h(
    'select',
    { id: 'advance-unit' },
    h('option', { value: '1' }, 'seconds'),
    h('option', { value: '60' }, 'minutes'),
    h('option', { value: '3600' }, 'hours'),
    h('option', { value: String(DAY), selected: true }, 'days'),
  );
  main.append(
    h('h1', { tabindex: '-1' }, 'Clock'),
    h('p', { class: 'hint' }, 'Every time rule of the emulator reads this clock: expiry, not-before, purge dates, token lifetimes.'),
    h(
      'dl',
      { class: 'settings', id: 'clock-state' },
      h('dt', {}, 'Now'),
      h('dd', { id: 'clock-now' }, when(clock.now)),
      h('dt', {}, 'Offset from the real time'),
      h('dd', { id: 'clock-offset' }, `${clock.offsetSeconds} s`),
      h('dt', {}, 'Frozen'),
      h('dd', { id: 'clock-frozen' }, clock.frozen ? 'Yes' : 'No'),
    ),
    h(
      'div',
      { class: 'actions' },
      clock.frozen ? h('button', { onclick: () => change({ frozen: false }, 'The clock runs again.') }, 'Unfreeze') : h('button', { onclick: () => change({ frozen: true }, 'The clock is frozen.') }, 'Freeze'),
      h('button', { onclick: () => change({ reset: true }, 'The clock is back to the real time.') }, 'Reset to real time'),
    ),
    h(
      'form',
      {
        class: 'inline',
        onsubmit: (event) => {
          event.preventDefault();
          const by = Number(amount.value) * Number(unit.value);
          if (!Number.isFinite(by)) return;
          change({ advanceSeconds: by }, `Advanced by ${amount.value} ${unit.selectedOptions[0].textContent}.`);
        },
      },
      h('label', { for: 'advance-amount' }, 'Advance by', amount),
      h('label', { for: 'advance-unit' }, 'Unit', unit),
      h('button', { type: 'submit' }, 'Advance'),
    ),
    message,
  );
}

async function faultsView(main) {
  const { value: rules } = await api('/faults');
  const columns = ['Id', 'Matches', 'Fault', 'Times left', 'Delay', 'Retry-After', ''];
  const errors = h('div');
  const remove = async (path, said) => {
    try {
      await api(path, { method: 'DELETE' });
      announce(said);
      await navigate();
    } catch (error) {
      errors.replaceChildren(errorBox(error));
    }
  };
  const describe = (match) => Object.entries(match).map(([k, v]) => `${k}=${v}`).join(', ') || 'every data-plane request';
  main.append(
    h('h1', { tabindex: '-1' }, 'Armed faults'),
    h('p', { class: 'hint' }, 'Rules that make matching data-plane requests fail (429, 503, 500) or answer late. Arm them with POST /_emulator/faults.'),
    errors,
    table(
      `${rules.length} armed rule${rules.length === 1 ? '' : 's'}`,
      columns,
      rules.map((r) =>
        row(columns, [
          h('span', { class: 'mono' }, r.id),
          describe(r.match),
          r.fault || 'delay only',
          r.times === undefined ? 'until removed' : String(r.times),
          r.delayMs ? `${r.delayMs} ms` : '—',
          r.retryAfterSeconds === undefined ? '—' : `${r.retryAfterSeconds} s`,
          h('button', { 'aria-label': `Remove rule ${r.id}`, onclick: () => remove(`/faults/${encodeURIComponent(r.id)}`, `Removed rule ${r.id}.`) }, 'Remove'),
        ]),
      ),
      { empty: 'No faults are armed.' },
    ),
    rules.length ? h('button', { class: 'danger', onclick: () => remove('/faults', 'Removed every rule.') }, 'Remove all') : '',
  );
}

/** The live audit log: the newest records, then each new one as the emulator writes it. */
async function auditView(main, _param, query) {
  const filters = new URLSearchParams(query);
  const field = (name, label, placeholder) =>
    h('label', { for: `filter-${name}` }, label, h('input', { id: `filter-${name}`, name, value: filters.get(name) || '', placeholder, autocomplete: 'off' }));
  const form = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Filter the audit log',
      onsubmit: (event) => {
        event.preventDefault();
        const next = new URLSearchParams();
        for (const input of form.querySelectorAll('input')) if (input.value.trim()) next.set(input.name, input.value.trim());
        location.hash = `#/audit${next.toString() ? `?${next}` : ''}`;
      },
    },
    field('vault', 'Vault', 'any'),
    field('operation', 'Operation', 'SecretGet'),
    field('status', 'Status', '403 or 4xx'),
    field('principal', 'Principal', 'name or id'),
    h('button', { type: 'submit' }, 'Apply'),
  );
  const columns = ['Time', 'Result', 'Operation', 'Vault', 'Object', 'Caller', 'Duration'];
  const body = h('tbody');
  const state = h('p', { class: 'live', id: 'audit-state' }, 'Connecting to the live log…');
  const problems = h('div');
  main.append(
    h('h1', { tabindex: '-1' }, 'Audit log'),
    h('p', { class: 'hint' }, "Key Vault's AuditEvent records of every request, newest first. Denials and failed sign-ins are marked."),
    form,
    problems,
    state,
    h('table', { class: 'cards', id: 'audit' }, h('caption', {}, 'Audit records'), h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))), body),
  );

  const recordRow = (r) => {
    const status = r.properties.httpStatusCode;
    const denied = status === 401 || status === 403;
    const vault = (/\/VAULTS\/([^/]+)$/i.exec(r.resourceId) || [])[1];
    let path = '';
    try {
      path = new URL(r.properties.requestUri).pathname;
    } catch {
      path = r.properties.requestUri;
    }
    const claim = (r.identity && r.identity.claim) || {};
    // Vault operations made through ARM name the caller with the long claim names, as Key Vault records them.
    const upn = claim.upn || claim['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn'];
    const caller = upn || (claim.appid ? `appid ${claim.appid}` : claim.oid ? `oid ${claim.oid}` : r.callerIpAddress);
    const result = [denied ? badge('Denied', 'bad') : status >= 400 ? badge('Failed', 'warn') : '', `${status} ${r.resultSignature}`];
    if (status >= 400 && r.resultDescription) result.push(h('div', { class: 'reason' }, r.resultDescription.split(/\r?\n/)[0]));
    const at = h('time', { datetime: r.time }, r.time.slice(11, 23));
    return row(columns, [at, result, r.operationName, vault ? vault.toLowerCase() : '—', h('span', { class: 'mono' }, path), h('span', { class: 'mono' }, caller), `${r.durationMs} ms`], {
      class: denied ? 'denied' : undefined,
      'data-status': status,
      'data-operation': r.operationName,
    });
  };

  const query2 = new URLSearchParams(filters);
  query2.set('order', 'desc');
  query2.set('maxresults', String(AUDIT_ROWS));
  try {
    const page = await api(`/logs?${query2}`);
    body.append(...page.value.map(recordRow));
  } catch (error) {
    problems.replaceChildren(errorBox(error));
    state.textContent = 'Not connected.';
    return;
  }
  const source = new EventSource(`${API}/logs/stream?${filters}`);
  cleanups.push(() => source.close());
  source.onopen = () => (state.textContent = 'Live: new records appear at the top as they are written.');
  source.onerror = () => (state.textContent = 'Reconnecting to the live log…');
  source.onmessage = (event) => {
    let record;
    try {
      record = JSON.parse(event.data);
    } catch {
      return;
    }
    body.prepend(recordRow(record));
    while (body.children.length > AUDIT_ROWS) body.lastElementChild.remove();
    const status = record.properties.httpStatusCode;
    if (status === 401 || status === 403) announce(`Denied: ${record.operationName}, ${status} ${record.resultSignature}.`);
  };
}

// ---------- events ----------

const EVENT_ROWS = 50;
const SCHEMAS = { EventGridSchema: 'Event Grid schema', CloudEventSchemaV1_0: 'CloudEvents 1.0' };
/** Delivery states in words, with the badge that backs them up (a dead letter stands out). */
const DELIVERY_STATES = {
  delivered: ['Delivered', 'ok'],
  pending: ['Pending', 'warn'],
  deadLettered: ['Dead-lettered', 'bad'],
  dropped: ['Dropped', 'bad'],
};
const shortType = (type) => (type || '').replace(/^Microsoft\.KeyVault\./, '');
/** A moment that does not wrap in a table cell. */
const at = (iso) => (iso ? h('time', { datetime: iso }, when(iso)) : '—');

function subscriptionFilters(s) {
  const parts = [];
  if (s.subjectBeginsWith) parts.push(`subject begins with "${s.subjectBeginsWith}"`);
  if (s.subjectEndsWith) parts.push(`subject ends with "${s.subjectEndsWith}"`);
  return parts.length ? parts.join(', ') : 'None';
}

/** Every vault's event subscriptions (GET /_emulator/eventSubscriptions). */
async function eventsView(main) {
  const { value: subscriptions } = await api('/eventSubscriptions');
  const columns = ['Vault', 'Subscription', 'Endpoint', 'Event types', 'Schema', 'State'];
  main.append(
    h('h1', { tabindex: '-1' }, 'Event subscriptions'),
    h('p', { class: 'hint' }, 'Event Grid subscriptions of every vault. Open a vault to see what was delivered to each, and what was dead-lettered.'),
    table(
      `${subscriptions.length} event subscription${subscriptions.length === 1 ? '' : 's'}`,
      columns,
      subscriptions.map((s) =>
        row(columns, [
          h('a', { href: `#/events/${encodeURIComponent(s.vault)}` }, s.vault),
          s.name,
          h('span', { class: 'mono' }, s.endpointBaseUrl),
          s.includedEventTypes ? s.includedEventTypes.map(shortType).join(', ') : 'All',
          SCHEMAS[s.schema] || s.schema,
          s.provisioningState === 'Succeeded' ? badge('Validated', 'ok') : badge('Awaiting validation', 'warn'),
        ]),
      ),
      { id: 'subscriptions', empty: 'No event subscriptions. Make one with PUT /_emulator/vaults/{vault}/eventSubscriptions/{name}.' },
    ),
  );
}

/** One vault's subscriptions, each with its settings, its recent deliveries and its dead letters. */
async function vaultEventsView(main, vault) {
  const base = `/vaults/${encodeURIComponent(vault)}/eventSubscriptions`;
  const { value: subscriptions } = await api(base);
  const refresh = h(
    'button',
    {
      onclick: async () => {
        await render();
        announce(`Deliveries of vault ${vault} refreshed.`);
        document.querySelector('#refresh-events')?.focus();
      },
      id: 'refresh-events',
    },
    'Refresh',
  );
  main.append(
    h('h1', { tabindex: '-1' }, `Events of vault ${vault}`),
    h('p', { class: 'hint' }, 'Each subscription with its filters and schema, then its recent deliveries, newest first. Dead letters are marked.'),
    h('div', { class: 'actions' }, refresh, h('a', { href: `#/vaults/${encodeURIComponent(vault)}` }, `Secrets of ${vault}`)),
  );
  if (subscriptions.length === 0) main.append(h('p', {}, 'This vault has no event subscriptions.'));
  const details = await Promise.all(
    subscriptions.map((s) => {
      const path = `${base}/${encodeURIComponent(s.name)}`;
      return Promise.all([api(`${path}/deliveries?top=${EVENT_ROWS}`), s.deadLetter ? api(`${path}/deadLetters?top=${EVENT_ROWS}`) : { value: [] }]);
    }),
  );
  subscriptions.forEach((s, i) => {
    const [{ value: deliveries }, { value: deadLetters }] = details[i];
    const section = h('section', { 'aria-labelledby': `subscription-${s.name}`, 'data-subscription': s.name });
    section.append(
      h('h2', { id: `subscription-${s.name}` }, `Subscription ${s.name}`),
      h(
        'dl',
        { class: 'settings' },
        h('dt', {}, 'Endpoint'),
        h('dd', { class: 'mono' }, s.endpointBaseUrl),
        h('dt', {}, 'Event types'),
        h('dd', {}, s.includedEventTypes ? s.includedEventTypes.map(shortType).join(', ') : 'All'),
        h('dt', {}, 'Subject filters'),
        h('dd', {}, subscriptionFilters(s)),
        h('dt', {}, 'Schema'),
        h('dd', {}, SCHEMAS[s.schema] || s.schema),
        h('dt', {}, 'Delivery'),
        h('dd', {}, `Up to ${s.maxDeliveryAttempts} attempts within ${s.eventTimeToLiveInMinutes} minutes; dead-lettering ${s.deadLetter ? 'on' : 'off'}`),
        h('dt', {}, 'State'),
        h('dd', {}, s.provisioningState === 'Succeeded' ? 'Endpoint validated' : 'Awaiting the endpoint’s validation'),
      ),
    );
    const columns = ['Event', 'Subject', 'Published', 'State', 'Attempts', 'Last answer', 'Next attempt'];
    section.append(
      table(
        `Recent deliveries of ${s.name}`,
        columns,
        deliveries.map((d) => {
          const [words, kind] = DELIVERY_STATES[d.state] || [d.state, 'info'];
          const state = [badge(words, kind)];
          if (d.reason) state.push(h('div', { class: 'reason' }, d.reason));
          const answer = d.lastStatus !== null ? `${d.lastStatus}${d.lastOutcome ? ` (${d.lastOutcome})` : ''}` : d.lastOutcome || '—';
          return row(columns, [shortType(d.eventType), d.subject, at(d.publishedAt), state, String(d.attempts), answer, at(d.nextAttemptAt)], {
            class: d.state === 'deadLettered' || d.state === 'dropped' ? 'denied' : undefined,
            'data-state': d.state,
            'data-event': d.eventId,
          });
        }),
        { empty: 'Nothing delivered yet.' },
      ),
    );
    if (s.deadLetter) {
      const dlColumns = ['Event', 'Subject', 'Reason', 'Attempts', 'Last outcome', 'Last attempt'];
      section.append(
        table(
          `Dead letters of ${s.name}`,
          dlColumns,
          deadLetters.map((d) => {
            // Event Grid schema or CloudEvents (whose dead-letter fields are lower case).
            const reason = d.deadLetterReason ?? d.deadletterreason;
            return row(
              dlColumns,
              [shortType(d.eventType ?? d.type), d.subject, badge(reason, 'bad'), String(d.deliveryAttempts ?? d.deliveryattempts), d.lastDeliveryOutcome ?? d.lastdeliveryoutcome ?? '—', at(d.lastDeliveryAttemptTime ?? d.lastdeliveryattempttime)],
              { class: 'denied', 'data-dead-letter': d.id },
            );
          }),
          { empty: 'No dead letters.' },
        ),
      );
    }
    main.append(section);
  });
}

/**
 * The sections of the dashboard, in the navigation's order. `path` is the hash route; a view renders into
 * `main` and may push cleanups (an open stream) run when another view replaces it.
 */
const VIEWS = [
  { path: 'vaults', title: 'Vaults', render: (main, param) => (param ? vaultView(main, param) : vaultsView(main)) },
  { path: 'identities', title: 'Identities', render: identitiesView },
  { path: 'clock', title: 'Clock', render: clockView },
  { path: 'faults', title: 'Faults', render: faultsView },
  { path: 'audit', title: 'Audit log', render: auditView },
  { path: 'events', title: 'Events', render: (main, param) => (param ? vaultEventsView(main, param) : eventsView(main)) },
];

// ---------- routing ----------

let cleanups = [];

function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [pathPart, query = ''] = hash.split('?');
  const [path = 'vaults', param] = pathPart.split('/').map(decodeURIComponent);
  const view = VIEWS.find((v) => v.path === path) || VIEWS[0];
  return { view, param, query };
}

async function render() {
  for (const cleanup of cleanups) cleanup();
  cleanups = [];
  const { view, param, query } = route();
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.view === view.path) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const main = document.getElementById('main');
  const next = h('div', { class: 'view', 'data-view': view.path });
  try {
    await view.render(next, param, query);
  } catch (error) {
    next.replaceChildren(h('h1', { tabindex: '-1' }, view.title), errorBox(error));
  }
  main.replaceChildren(next);
  document.title = `${next.querySelector('h1')?.textContent || view.title} · kv-emulator`;
  clockNow().catch(() => undefined);
  return next;
}

/** A navigation moves focus to the new view's heading, so keyboard and screen-reader users land there. */
async function navigate() {
  const view = await render();
  view.querySelector('h1')?.focus();
}

function start() {
  const nav = document.getElementById('nav');
  nav.replaceChildren(...VIEWS.map((v) => h('li', {}, h('a', { href: `#/${v.path}`, 'data-view': v.path }, v.title))));
  window.addEventListener('hashchange', navigate);
  render().then(() => document.body.setAttribute('data-ready', ''));
}

start();
