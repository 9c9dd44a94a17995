// The dashboard (/_emulator/ui) in a real browser: Debian's Chromium driven by playwright-core, through
// the emulator's real CLI over HTTPS. Chromium trusts the emulator's own server key for this run
// (--ignore-certificate-errors-spki-list with its SPKI hash: that one key, not every certificate). Each
// view renders the emulator's real state (seeded through the data plane and the admin API); reveal,
// recover, purge (and purge protection's refusal, as the service words it), the clock, faults, and a
// denial appearing live in the audit view, event subscriptions with their deliveries and dead letters (a real
// webhook on loopback); keyboard use, names for screen readers, and a narrow window.
// Without Chromium the tests say why and are skipped.
// KV_DASHBOARD_SCREENSHOTS=<dir> also writes the screenshots of the main views (docs/images).
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { bearerToken, call, startChild, type ChildEmulator } from './robustness/support.js';
import { startReceiver } from './support/webhook-receiver.js';

// What the functions run in the page use (the project compiles without the DOM library).
declare const document: any;
declare const performance: { getEntriesByType(type: string): unknown[] };
declare function getComputedStyle(element: unknown, pseudo?: string): { content: string; display: string };

const CHROMIUM = '/usr/bin/chromium';
const missing = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is not installed (apt-get install chromium)`;
if (missing) console.log(`skipped dashboard browser tests: ${missing}`);
const SCREENSHOTS = process.env.KV_DASHBOARD_SCREENSHOTS;
const DAY = 86_400;

let emulator: ChildEmulator;
let browser: BrowserContext;
let token: string;
let userDataDir: string;

const json = (text: string) => (text ? JSON.parse(text) : undefined);

async function admin(path: string, method = 'GET', body?: unknown): Promise<any> {
  const res = await call(emulator, `/_emulator${path}`, {
    method,
    ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
  return json(res.text);
}

async function data(vault: string, path: string, method = 'GET', body?: unknown, bearer = token) {
  const res = await call(emulator, `${path}${path.includes('?') ? '&' : '?'}api-version=7.6`, {
    method,
    headers: { host: `${vault}.vault.localhost:${emulator.port}`, authorization: `Bearer ${bearer}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: json(res.text) };
}

const VALUES = { first: 'first-value-of-db-password', latest: 'latest-value-of-db-password', other: 'value-that-must-stay-hidden' };

async function seed(): Promise<void> {
  await admin('/vaults', 'POST', { name: 'shop', softDeleteRetentionInDays: 7 });
  await admin('/vaults', 'POST', { name: 'locked', purgeProtection: true });
  await admin('/vaults', 'POST', { name: 'legacy', permissionModel: 'accessPolicy' });
  const now = Math.floor((await admin('/clock')).nowEpochSeconds);
  const set = async (vault: string, name: string, body: Record<string, unknown>) => {
    const res = await data(vault, `/secrets/${name}`, 'PUT', body);
    if (res.status !== 200) throw new Error(`set ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  };
  await set('shop', 'db-password', { value: VALUES.first, contentType: 'text/plain', tags: { env: 'dev' } });
  await set('shop', 'db-password', { value: VALUES.latest, contentType: 'text/plain', tags: { env: 'dev', rotated: 'yes' } });
  await set('shop', 'old-key', { value: VALUES.other, attributes: { exp: now - DAY } });
  await set('shop', 'future-key', { value: VALUES.other, attributes: { nbf: now + 10 * DAY } });
  await set('shop', 'soon-key', { value: VALUES.other, attributes: { exp: now + 5 * DAY } });
  await set('shop', 'off-key', { value: VALUES.other, attributes: { enabled: false } });
  for (const name of ['gone-key', 'trash-key']) {
    await set('shop', name, { value: VALUES.other });
    expect((await data('shop', `/secrets/${name}`, 'DELETE')).status).toBe(200);
  }
  await set('locked', 'kept', { value: VALUES.other });
  expect((await data('locked', '/secrets/kept', 'DELETE')).status).toBe(200);
  await admin('/identities/dash-reader', 'PUT', { kind: 'servicePrincipal', clientSecret: 'dash-reader-secret' });
  await admin('/roleAssignments', 'POST', { principal: 'dash-reader', role: 'Key Vault Secrets User', scope: '/vaults/shop' });
  await admin('/accessPolicies/legacy/dash-reader', 'PUT', { secrets: ['get', 'list'] });
  await admin('/faults', 'POST', { match: { vault: 'nowhere', operation: 'get' }, fault: 'throttled', times: 3 });
}

/** Chromium trusting exactly the emulator's server key for this run. */
async function launch(): Promise<BrowserContext> {
  const { chromium } = await import('playwright-core');
  const certificate = new X509Certificate(readFileSync(join(emulator.dataDir, 'server.pem')));
  const spki = createHash('sha256').update(certificate.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  userDataDir = mkdtempSync(join(tmpdir(), 'kv-chromium-'));
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1100, height: 720 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--ignore-certificate-errors-spki-list=${spki}`,
    ],
  });
}

/** A page on a view, its first render complete; page errors fail the test. */
async function open(hash: string, viewport?: { width: number; height: number }): Promise<Page> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  (page as Page & { problems: string[] }).problems = problems;
  if (viewport) await page.setViewportSize(viewport);
  await page.goto(`${emulator.origin}/_emulator/ui${hash}`);
  await page.waitForSelector('body[data-ready]');
  return page;
}

async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage });
}

const problemsOf = (page: Page) => (page as Page & { problems: string[] }).problems;

describe.skipIf(missing !== undefined)('the dashboard in Chromium', () => {
  beforeAll(async () => {
    emulator = await startChild({ args: ['--log-level', 'warn'] });
    token = await bearerToken(emulator);
    await seed();
    browser = await launch();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await emulator?.stop();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('lists the vaults and their settings, and holds no secret value in its HTML', async () => {
    const page = await open('#/vaults');
    const rows = page.locator('table tbody tr');
    await expect.poll(() => rows.count()).toBe(4);
    const locked = page.getByRole('row', { name: /locked/ });
    await expect.poll(() => locked.textContent()).toMatch(/locked\s*90 days\s*On\s*Azure RBAC/);
    expect(await page.getByRole('row', { name: /legacy/ }).textContent()).toContain('Access policies');
    expect(await page.getByRole('row', { name: /shop/ }).textContent()).toContain('7 days');
    for (const value of Object.values(VALUES)) expect(await page.content()).not.toContain(value);
    await shot(page, 'dashboard-vaults');
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  });

  it("shows a vault's secrets with their state, and reveals a value only when asked", async () => {
    const page = await open('#/vaults/shop');
    await page.getByRole('heading', { name: 'Vault shop' }).waitFor();
    const state = async (name: string) => (await page.locator(`tr[data-secret="${name}"] td[data-label="State"]`).textContent())?.trim();
    expect(await state('db-password')).toBe('Active');
    expect(await state('old-key')).toBe('Expired');
    expect(await state('future-key')).toBe('Not yet valid');
    expect(await state('soon-key')).toBe('Near expiry');
    expect(await state('off-key')).toBe('Disabled');
    const db = page.locator('tr[data-secret="db-password"]');
    expect(await db.locator('td[data-label="Content type"]').textContent()).toBe('text/plain');
    expect(await db.locator('td[data-label="Tags"]').textContent()).toBe('env=dev, rotated=yes');
    expect(await page.locator('#deleted tbody tr').count()).toBe(2);
    expect(await page.content()).not.toContain(VALUES.latest);

    await page.getByRole('button', { name: 'Versions of db-password' }).click();
    const versions = await admin('/vaults/shop/secrets/db-password/versions');
    const latest = versions.value.find((v: any) => v.latest).version as string;
    const reveal = page.getByRole('button', { name: `Reveal the value of version ${latest}` });
    await reveal.waitFor();
    expect(await page.getByRole('table', { name: 'Versions of db-password' }).locator('tbody tr').count()).toBe(2);
    expect(await page.content()).not.toContain(VALUES.latest);
    await shot(page, 'dashboard-vault');
    await reveal.click();
    const shown = page.locator('code[data-value]');
    await shown.waitFor();
    expect(await shown.textContent()).toBe(VALUES.latest);
    expect(await page.content()).not.toContain(VALUES.first);
    // The reveal is in the audit log.
    const reveals = await admin('/logs?operation=EmulatorSecretValueReveal&vault=shop');
    expect(reveals.value.at(-1).properties.requestUri).toContain(`/secrets/db-password/versions/${latest}/value`);
    await page.getByRole('button', { name: `Hide the value of version ${latest}` }).click();
    await expect.poll(() => page.content()).not.toContain(VALUES.latest);
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  });

  it('recovers and purges deleted secrets, and shows purge protection refusing in the service\'s words', async () => {
    const page = await open('#/vaults/shop');
    await page.getByRole('button', { name: 'Recover gone-key' }).click();
    await page.locator('tr[data-secret="gone-key"]').waitFor();
    expect(await page.locator('tr[data-deleted="gone-key"]').count()).toBe(0);
    expect((await data('shop', '/secrets/gone-key')).status).toBe(200);

    await page.getByRole('button', { name: 'Purge trash-key' }).click();
    await expect.poll(() => page.locator('tr[data-deleted="trash-key"]').count()).toBe(0);
    expect((await admin('/vaults/shop/deletedsecrets')).value).toEqual([]);
    expect((await data('shop', '/deletedsecrets/trash-key')).status).toBe(404);

    await page.goto(`${emulator.origin}/_emulator/ui#/vaults/locked`);
    await page.getByRole('heading', { name: 'Vault locked' }).waitFor();
    await page.getByRole('button', { name: 'Purge kept' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toBe(
      'Forbidden: Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed. Vault: locked;location=westus',
    );
    expect((await admin('/vaults/locked/deletedsecrets')).value.map((s: any) => s.name)).toEqual(['kept']);
    // Focus stays on the button that failed, for a keyboard user to try something else.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Purge kept');
    await page.close();
  });

  it('shows identities, role assignments and access policies', async () => {
    const page = await open('#/identities');
    await page.getByRole('heading', { name: 'Identities and access' }).waitFor();
    const principals = await admin('/identities');
    const reader = principals.value.find((p: any) => p.name === 'dash-reader');
    expect(await page.getByRole('table', { name: /principals/ }).textContent()).toContain(reader.objectId);
    expect(await page.getByRole('table', { name: /role assignments/ }).textContent()).toMatch(/dash-reader\s*Key Vault Secrets User\s*\/vaults\/shop/);
    expect(await page.getByRole('table', { name: /access policies/ }).textContent()).toMatch(/legacy\s*dash-reader\s*get, list/);
    await shot(page, 'dashboard-identities');
    await page.close();
  });

  it('freezes, advances and resets the clock, with the keyboard', async () => {
    const page = await open('#/vaults');
    // Keyboard only: the skip link first, then the sections.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.getByRole('link', { name: 'Clock' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Clock' }).waitFor();
    // The new view's heading has the focus, and the section is marked current.
    await expect.poll(() => page.evaluate(() => document.activeElement?.tagName + ':' + document.activeElement?.textContent)).toBe('H1:Clock');
    expect(await page.getByRole('link', { name: 'Clock' }).getAttribute('aria-current')).toBe('page');

    await page.getByRole('button', { name: 'Freeze' }).click();
    await page.getByRole('button', { name: 'Unfreeze' }).waitFor();
    const frozen = await admin('/clock');
    expect(frozen.frozen).toBe(true);
    await page.getByLabel('Advance by').fill('2');
    await page.getByLabel('Unit').selectOption({ label: 'days' });
    await page.getByLabel('Advance by').press('Enter');
    await expect.poll(async () => (await admin('/clock')).nowEpochSeconds).toBe(frozen.nowEpochSeconds + 2 * DAY);
    await expect.poll(() => page.locator('#clock-now').textContent()).toBe(new Date((frozen.nowEpochSeconds + 2 * DAY) * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'));
    expect(await page.locator('#clock-frozen').textContent()).toBe('Yes');
    await shot(page, 'dashboard-clock');
    // What the clock says shows in the vault: soon-key, 5 days from expiry, is 3 days from it now; after
    // 3 more days it has expired.
    await page.getByLabel('Advance by').fill('3');
    await page.getByRole('button', { name: 'Advance' }).click();
    await expect.poll(async () => (await admin('/clock')).nowEpochSeconds).toBe(frozen.nowEpochSeconds + 5 * DAY);
    await page.goto(`${emulator.origin}/_emulator/ui#/vaults/shop`);
    await page.locator('tr[data-secret="soon-key"]').waitFor();
    expect((await page.locator('tr[data-secret="soon-key"] td[data-label="State"]').textContent())?.trim()).toBe('Expired');
    await page.goto(`${emulator.origin}/_emulator/ui#/clock`);
    await page.getByRole('button', { name: 'Reset to real time' }).click();
    await expect.poll(async () => (await admin('/clock')).frozen).toBe(false);
    expect((await admin('/clock')).offsetSeconds).toBe(0);
    await page.close();
  });

  it('shows the armed faults and removes one', async () => {
    const page = await open('#/faults');
    const rules = (await admin('/faults')).value;
    expect(rules).toHaveLength(1);
    const rule = page.getByRole('row', { name: new RegExp(rules[0].id) });
    expect(await rule.textContent()).toMatch(/operation=get, vault=nowhere\s*throttled\s*3/);
    await page.getByRole('button', { name: `Remove rule ${rules[0].id}` }).click();
    await page.getByText('No faults are armed.').waitFor();
    expect((await admin('/faults')).value).toEqual([]);
    await page.close();
  });

  it('shows a denial in the live audit view as it happens, marked as such', async () => {
    const page = await open('#/audit');
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    // The audit view fits the window too: long request paths wrap.
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    await expect.poll(() => page.locator('#audit-state').textContent()).toMatch(/^Live/);
    await admin('/identities/dash-intruder', 'PUT', { kind: 'servicePrincipal', clientSecret: 'intruder-secret' });
    const intruder = (await admin('/tokens', 'POST', { principal: 'dash-intruder' })).access_token as string;
    const before = await page.locator('#audit tbody tr[data-status="403"]').count();
    const denied = await data('shop', '/secrets/db-password', 'GET', undefined, intruder);
    expect(denied.status).toBe(403);
    const answeredAt = Date.now();
    const row = page.locator('#audit tbody tr[data-status="403"]').first();
    await expect.poll(() => page.locator('#audit tbody tr[data-status="403"]').count(), { timeout: 10_000, interval: 20 }).toBe(before + 1);
    // Measured, not asserted (the suite makes no timing assertions): the issue asks for under a second.
    console.log(`[dashboard] the denial appeared in the live audit view ${Date.now() - answeredAt} ms after its answer`);
    expect(await row.getAttribute('class')).toBe('denied');
    expect(await row.textContent()).toMatch(/Denied403 Forbidden/);
    expect(await row.textContent()).toContain('Caller is not authorized to perform action on resource.');
    expect(await row.locator('td[data-label="Operation"]').textContent()).toBe('SecretGet');
    // The view was not reloaded: the record came over the stream.
    expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(1);
    await shot(page, 'dashboard-audit', false);

    // Filters narrow what is shown, live records included.
    await page.getByLabel('Status').fill('403');
    await page.getByRole('button', { name: 'Apply' }).click();
    // The view says "Live" before the filtered records arrive as well: wait for the rows themselves.
    const statuses = () => page.locator('#audit tbody tr').evaluateAll((rows) => [...new Set(rows.map((r) => r.getAttribute('data-status')))]);
    await expect.poll(statuses, { timeout: 10_000 }).toEqual(['403']);
    await expect.poll(() => page.locator('#audit-state').textContent()).toMatch(/^Live/);
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  });

  it('shows event subscriptions with their filters and schema, and their deliveries, dead letters standing out', async () => {
    const receiver = await startReceiver();
    try {
      // One endpoint takes its events; the other refuses them (400: not retried, dead-lettered at once).
      receiver.respond = (r) => (r.path.endsWith('?to=reject') ? 400 : 200);
      await admin('/vaults/shop/eventSubscriptions/rotation', 'PUT', {
        endpoint: `${receiver.url}?to=accept`,
        includedEventTypes: ['Microsoft.KeyVault.SecretNewVersionCreated'],
        subjectBeginsWith: 'event-',
      });
      await admin('/vaults/shop/eventSubscriptions/audit-sink', 'PUT', { endpoint: `${receiver.url}?to=reject`, schema: 'CloudEventSchemaV1_0', deadLetter: true, maxDeliveryAttempts: 3 });
      expect((await data('shop', '/secrets/event-key', 'PUT', { value: VALUES.other })).status).toBe(200);
      const states = async (subscription: string) => (await admin(`/vaults/shop/eventSubscriptions/${subscription}/deliveries`)).value.map((d: any) => d.state);
      await expect.poll(() => states('rotation'), { timeout: 10_000 }).toEqual(['delivered']);
      await expect.poll(() => states('audit-sink'), { timeout: 10_000 }).toEqual(['deadLettered']);

      const page = await open('#/events');
      await page.getByRole('heading', { name: 'Event subscriptions' }).waitFor();
      const overview = page.getByRole('table', { name: '2 event subscriptions' });
      expect(await overview.getByRole('row', { name: /rotation/ }).textContent()).toMatch(/shop\s*rotation\s*http:\/\/127\.0\.0\.1:\d+\/api\/events\s*SecretNewVersionCreated\s*Event Grid schema\s*Validated/);
      expect(await overview.getByRole('row', { name: /audit-sink/ }).textContent()).toMatch(/audit-sink.*All\s*CloudEvents 1\.0\s*Validated/);
      // The endpoint's query string (it may hold keys) is never shown.
      expect(await page.content()).not.toContain('to=accept');

      await overview.getByRole('link', { name: 'shop' }).first().click();
      await page.getByRole('heading', { name: 'Events of vault shop' }).waitFor();
      await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Events of vault shop');
      const rotation = page.locator('section[data-subscription="rotation"]');
      expect(await rotation.locator('dl').textContent()).toContain('Subject filterssubject begins with "event-"');
      const delivered = rotation.getByRole('table', { name: 'Recent deliveries of rotation' }).locator('tbody tr');
      expect(await delivered.count()).toBe(1);
      expect(await delivered.getAttribute('data-state')).toBe('delivered');
      expect(await delivered.textContent()).toMatch(/SecretNewVersionCreated\s*event-key.*Delivered\s*1\s*200/);

      const sink = page.locator('section[data-subscription="audit-sink"]');
      const deadDelivery = sink.getByRole('table', { name: 'Recent deliveries of audit-sink' }).locator('tbody tr');
      expect(await deadDelivery.getAttribute('data-state')).toBe('deadLettered');
      expect(await deadDelivery.getAttribute('class')).toBe('denied');
      expect(await deadDelivery.locator('td[data-label="State"]').textContent()).toBe('Dead-letteredUndeliverableDueToClientError');
      expect(await deadDelivery.locator('td[data-label="Last answer"]').textContent()).toBe('400 (BadRequest)');
      const deadLetter = sink.getByRole('table', { name: 'Dead letters of audit-sink' }).locator('tbody tr');
      expect(await deadLetter.textContent()).toMatch(/SecretNewVersionCreated\s*event-key\s*UndeliverableDueToClientError\s*1\s*BadRequest/);
      await shot(page, 'dashboard-events');

      // A new delivery shows after Refresh, and the focus stays on the button.
      expect((await data('shop', '/secrets/event-key-2', 'PUT', { value: VALUES.other })).status).toBe(200);
      await expect.poll(() => states('rotation'), { timeout: 10_000 }).toEqual(['delivered', 'delivered']);
      await page.getByRole('button', { name: 'Refresh' }).click();
      await expect.poll(() => rotation.getByRole('table', { name: 'Recent deliveries of rotation' }).locator('tbody tr').count()).toBe(2);
      await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Refresh');
      expect(problemsOf(page)).toEqual([]);
      await page.close();
    } finally {
      await receiver.close();
    }
  });

  it('names every control for assistive technology', async () => {
    for (const hash of ['#/vaults/shop', '#/clock', '#/audit', '#/faults', '#/identities', '#/events', '#/events/shop']) {
      const page = await open(hash);
      await page.locator('main h1').waitFor();
      const unnamed = await page.evaluate(() => {
        const problems: string[] = [];
        for (const el of document.querySelectorAll('input, select')) {
          if (el.labels?.length === 0 && !el.getAttribute('aria-label')) problems.push(`${el.tagName} ${el.id}`);
        }
        for (const el of document.querySelectorAll('button, a')) {
          if (!(el.getAttribute('aria-label') || el.textContent?.trim())) problems.push(el.outerHTML);
        }
        for (const t of document.querySelectorAll('table')) if (!t.querySelector('caption')) problems.push('table without caption');
        if (!document.querySelector('main') || !document.querySelector('nav[aria-label]')) problems.push('landmarks');
        return problems;
      });
      expect(unnamed, hash).toEqual([]);
      await page.close();
    }
  });

  it('fits a narrow window: no sideways scrolling, each cell names its column', async () => {
    const page = await open('#/vaults/shop', { width: 375, height: 740 });
    await page.locator('tr[data-secret="db-password"]').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const label = await page.locator('tr[data-secret="db-password"] td[data-label="Content type"]').evaluate((td) => getComputedStyle(td, '::before').content);
    expect(label).toBe('"Content type"');
    // Rows folded away (a secret's versions) stay out of sight as cards too.
    expect(await page.locator('tr.sub').evaluateAll((rows) => rows.every((r) => getComputedStyle(r).display === 'none'))).toBe(true);
    await shot(page, 'dashboard-narrow', false);
    await page.close();
  });

  it('is behind the admin API guard, and refuses a file it does not ship', async () => {
    const res = await call(emulator, '/_emulator/ui/secrets.json');
    expect(res.status).toBe(404);
    expect(json(res.text).error.code).toBe('NotFound');
    const page = await call(emulator, '/_emulator/ui');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.text).not.toContain(VALUES.latest);
  });
});
