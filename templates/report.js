// kubeeye HTML report: the findings table. Reads the JSON in #findings-data
// and renders one page of rows at a time, so the page stays responsive with
// tens of thousands of findings. Cluster text only ever reaches the page
// through textContent and option values, never as HTML.
(function () {
  'use strict';

  const PAGE_SIZE = 100;
  const PRINT_LIMIT = 5000;
  const SEVERITY_RANK = { danger: 0, warning: 1, info: 2 };
  const BARE_KINDS = new Set(['Pod', 'Node', 'ControlPlane']);

  const source = document.getElementById('findings-data');
  const body = document.getElementById('findings-body');
  if (!source || !body) return;
  const data = JSON.parse(source.textContent);
  const strings = data.strings;
  const documented = new Set(data.documented);
  const hasStatus = data.has_status;

  // Decode rows once: a plain object per finding plus a lowercase haystack for text search.
  const fieldIndex = {};
  data.fields.forEach(function (name, i) { fieldIndex[name] = i; });
  const all = data.rows.map(function (row, order) {
    const f = { order: order };
    for (const name in fieldIndex) f[name] = strings[row[fieldIndex[name]]];
    f.object = BARE_KINDS.has(f.kind) ? f.name : f.kind + '/' + f.name;
    f.haystack = [f.namespace, f.kind, f.name, f.container, f.rule, f.category, f.reason, f.message, f.source]
      .join('\u0000').toLowerCase();
    return f;
  });

  const $ = function (id) { return document.getElementById(id); };
  const controls = {
    severity: $('filter-severity'),
    status: $('filter-status'),
    section: $('filter-section'),
    namespace: $('filter-namespace'),
    rule: $('filter-rule'),
    text: $('filter-text'),
  };
  const state = { sort: 'severity', dir: 1, page: 0, shown: all };

  fillSelect(controls.section, all, function (f) { return f.section; }, null);
  fillSelect(controls.namespace, all, function (f) { return f.namespace; }, '(cluster-scoped)');
  fillSelect(controls.rule, all, function (f) { return f.rule; }, null);

  // Options with their counts, most common first for namespaces and rules, by name for sections.
  function fillSelect(select, rows, key, emptyLabel) {
    if (!select) return;
    const counts = new Map();
    rows.forEach(function (f) { counts.set(key(f), (counts.get(key(f)) || 0) + 1); });
    const keys = Array.from(counts.keys()).sort(function (a, b) { return a < b ? -1 : a > b ? 1 : 0; });
    keys.forEach(function (k) {
      const option = document.createElement('option');
      option.value = k === '' ? '\u0000' : k;
      option.textContent = (k === '' ? (emptyLabel || '(none)') : k) + ' (' + counts.get(k) + ')';
      select.appendChild(option);
    });
  }

  function selected(select) {
    if (!select || select.value === '') return null;
    return select.value === '\u0000' ? '' : select.value;
  }

  function compare(a, b) {
    const k = state.sort;
    let x, y;
    if (k === 'severity') { x = SEVERITY_RANK[a.severity]; y = SEVERITY_RANK[b.severity]; }
    else { x = a[k]; y = b[k]; }
    if (x < y) return -state.dir;
    if (x > y) return state.dir;
    return a.order - b.order;
  }

  function apply(keepPage) {
    const severity = selected(controls.severity);
    const status = selected(controls.status);
    const section = selected(controls.section);
    const namespace = selected(controls.namespace);
    const rule = selected(controls.rule);
    const words = controls.text ? controls.text.value.toLowerCase().split(/\s+/).filter(Boolean) : [];
    state.shown = all.filter(function (f) {
      if (severity !== null && f.severity !== severity) return false;
      if (status !== null && f.status !== status) return false;
      if (section !== null && f.section !== section) return false;
      if (namespace !== null && f.namespace !== namespace) return false;
      if (rule !== null && f.rule !== rule) return false;
      for (let i = 0; i < words.length; i++) if (f.haystack.indexOf(words[i]) < 0) return false;
      return true;
    });
    state.shown.sort(compare);
    if (!keepPage) state.page = 0;
    render();
  }

  function cell(tr, text, className) {
    const td = document.createElement('td');
    if (className) td.className = className;
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function badge(parent, className, text) {
    const span = document.createElement('span');
    span.className = className;
    span.textContent = text;
    parent.appendChild(span);
  }

  function rowFor(f) {
    const tr = document.createElement('tr');
    const sev = cell(tr, '');
    badge(sev, 'sev sev-' + f.severity, f.severity);
    if (hasStatus) {
      const st = cell(tr, '');
      if (f.status) badge(st, 'st st-' + f.status, f.status);
    }
    cell(tr, f.namespace);
    const obj = cell(tr, f.object, 'obj');
    if (f.source) {
      // Where the object was read from (snapshot and manifest input).
      const src = document.createElement('span');
      src.className = 'src';
      src.textContent = f.source;
      obj.appendChild(document.createElement('br'));
      obj.appendChild(src);
    }
    cell(tr, f.container);
    const ruleCell = cell(tr, '');
    if (documented.has(f.rule)) {
      const a = document.createElement('a');
      a.className = 'rule';
      a.href = '#rule-' + encodeURIComponent(f.rule);
      a.textContent = f.rule;
      ruleCell.appendChild(a);
    } else {
      badge(ruleCell, 'rule', f.rule);
    }
    const count = Number(f.count) > 1 ? ' (×' + f.count + ')' : '';
    cell(tr, f.message + count, f.section === 'logs' ? 'msg log' : 'msg');
    return tr;
  }

  function render(limit) {
    const total = state.shown.length;
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    state.page = Math.min(state.page, pages - 1);
    const start = limit ? 0 : state.page * PAGE_SIZE;
    const end = limit ? Math.min(total, limit) : Math.min(total, start + PAGE_SIZE);
    const rows = [];
    for (let i = start; i < end; i++) rows.push(rowFor(state.shown[i]));
    if (total === 0) {
      const tr = document.createElement('tr');
      const td = cell(tr, all.length ? 'No finding matches these filters.' : 'No findings.', 'empty');
      td.colSpan = hasStatus ? 7 : 6;
      rows.push(tr);
    }
    body.replaceChildren.apply(body, rows);
    const filtered = total === all.length ? '' : ' (filtered from ' + all.length.toLocaleString('en-US') + ')';
    $('findings-info').textContent = total === 0 ? 'No findings shown' + filtered + '.'
      : 'Showing ' + (start + 1).toLocaleString('en-US') + '–' + end.toLocaleString('en-US') + ' of '
        + total.toLocaleString('en-US') + ' findings' + filtered + '.';
    $('page-info').textContent = 'Page ' + (state.page + 1) + ' of ' + pages;
    $('page-first').disabled = $('page-prev').disabled = state.page === 0;
    $('page-next').disabled = $('page-last').disabled = state.page >= pages - 1;
    document.querySelectorAll('#findings-table th[data-sort]').forEach(function (th) {
      th.setAttribute('aria-sort', th.dataset.sort !== state.sort ? 'none' : state.dir > 0 ? 'ascending' : 'descending');
    });
  }

  function go(page) { state.page = page; render(); }

  Object.keys(controls).forEach(function (k) {
    const c = controls[k];
    if (c) c.addEventListener(k === 'text' ? 'input' : 'change', function () { apply(false); });
  });
  $('filter-reset').addEventListener('click', function () {
    Object.keys(controls).forEach(function (k) { if (controls[k]) controls[k].value = ''; });
    apply(false);
  });
  $('page-first').addEventListener('click', function () { go(0); });
  $('page-prev').addEventListener('click', function () { go(state.page - 1); });
  $('page-next').addEventListener('click', function () { go(state.page + 1); });
  $('page-last').addEventListener('click', function () { go(Number.MAX_SAFE_INTEGER); });
  document.querySelectorAll('#findings-table th[data-sort] button').forEach(function (button) {
    button.addEventListener('click', function () {
      const key = button.parentElement.dataset.sort;
      state.dir = state.sort === key ? -state.dir : 1;
      state.sort = key;
      apply(false);
    });
  });

  // Links elsewhere on the page ("list", counts, "N more") set one filter and show the table.
  const shortcuts = { filterRule: 'rule', filterSeverity: 'severity', filterSection: 'section', filterStatus: 'status' };
  document.querySelectorAll('[data-filter-rule],[data-filter-severity],[data-filter-section],[data-filter-status]')
    .forEach(function (link) {
      link.addEventListener('click', function () {
        Object.keys(controls).forEach(function (k) { if (controls[k]) controls[k].value = ''; });
        Object.keys(shortcuts).forEach(function (attr) {
          const control = controls[shortcuts[attr]];
          if (control && link.dataset[attr] !== undefined) control.value = link.dataset[attr];
        });
        apply(false);
      });
    });

  // "/" jumps to the text filter, as in most web tools.
  document.addEventListener('keydown', function (e) {
    if (e.key === '/' && document.activeElement !== controls.text && !/INPUT|SELECT|TEXTAREA/.test(document.activeElement.tagName)) {
      e.preventDefault();
      controls.text.focus();
    }
  });

  // On paper there are no page buttons: print every filtered row, up to a limit.
  window.addEventListener('beforeprint', function () { render(PRINT_LIMIT); });
  window.addEventListener('afterprint', function () { render(); });

  apply(false);
  document.body.dataset.findingsReady = 'true';
})();
