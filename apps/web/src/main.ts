import './style.css';
import { apiKey } from './api';
import { renderDashboard } from './dashboard';
import { h } from './format';
import { renderMovement } from './movement';
import { renderRecord, renderRecordFinder } from './record';
import { MOVEMENT, REPORTS } from './reports';
import { currentLocation } from './router';

const page = document.getElementById('page')!;
const nav = document.getElementById('nav')!;

const PAGES = [...REPORTS.map((r) => ({ path: `reports/${r.name}`, title: r.title })), { path: `reports/${MOVEMENT.name}`, title: MOVEMENT.title }, { path: 'records', title: 'Records' }];

nav.replaceChildren(h('ul', {}, ...PAGES.map((p) => h('li', {}, h('a', { href: `#/${p.path}`, 'data-page': p.path }, p.title)))));

function route(): void {
  const { path } = currentLocation();
  const here = path.join('/');
  nav.querySelector('ul')!.scrollLeft = 0;
  for (const link of nav.querySelectorAll<HTMLAnchorElement>('a')) {
    if (here === link.dataset.page || here.startsWith(`${link.dataset.page}/`)) {
      link.setAttribute('aria-current', 'page');
      // On a phone the menu scrolls sideways: keep the current page in sight.
      link.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    } else link.removeAttribute('aria-current');
  }
  const [first, second, third] = path;
  const report = REPORTS.find((r) => r.name === second);
  if (first === 'reports' && report) renderDashboard(report, page);
  else if (first === 'reports' && second === MOVEMENT.name) renderMovement(page);
  else if (first === 'records' && second && third) renderRecord(page, second, third);
  else if (first === 'records') renderRecordFinder(page);
  else renderHome();
  document.title = `${nav.querySelector('[aria-current] ')?.textContent ?? 'Home'} · CRM`;
}

function renderHome(): void {
  page.replaceChildren(
    h(
      'section',
      { class: 'home' },
      h('h1', {}, 'Reports and audit'),
      h('p', { class: 'summary' }, 'Reports need a key with the role analyst; record timelines need auditor. The key stays in this tab only, until you close it.'),
      h(
        'ul',
        { class: 'cards' },
        ...[...REPORTS, MOVEMENT].map((r) => h('li', {}, h('a', { href: `#/reports/${r.name}` }, h('strong', {}, r.title), h('span', {}, r.summary)))),
        h('li', {}, h('a', { href: '#/records' }, h('strong', {}, 'Records'), h('span', {}, 'A record’s timeline with actor, business and recorded time, and its state after any event.'))),
      ),
    ),
  );
}

// The key: typed once, kept in sessionStorage (this tab only), sent as Authorization: Bearer.
const keyForm = document.getElementById('key-form') as HTMLFormElement;
const keyInput = document.getElementById('api-key') as HTMLInputElement;
const keyStatus = document.getElementById('key-status')!;
function showKeyStatus(): void {
  keyStatus.textContent = apiKey.get() ? 'key set for this tab' : 'no key';
  keyForm.classList.toggle('has-key', !!apiKey.get());
  keyInput.value = '';
  keyInput.placeholder = apiKey.get() ? '•••••••• (set)' : 'paste your key';
}
keyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  if (keyInput.value.trim()) apiKey.set(keyInput.value);
  showKeyStatus();
  route();
});
document.getElementById('key-forget')!.addEventListener('click', () => {
  apiKey.clear();
  showKeyStatus();
  route();
});

showKeyStatus();
window.addEventListener('hashchange', route);
route();
