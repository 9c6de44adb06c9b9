/**
 * The /usage page's script, served as /usage/assets/usage.js. Plain ES2020
 * for the browser, no build step. The token lives only in the `token`
 * variable of this tab; a `?token=` in the address is read once and removed
 * from the address bar and history.
 */
export const usageScript = String.raw`
'use strict';
(function () {
  var token = '';
  var charts = {};
  var el = function (id) { return document.getElementById(id); };
  var status = function (text, error) { var s = el('status'); s.textContent = text; s.className = error ? 'error' : ''; };
  var day = function (ms) { return new Date(ms).toISOString().slice(0, 10); };
  var params = new URLSearchParams(location.search);
  if (params.has('token')) {
    token = params.get('token') || '';
    params.delete('token');
    history.replaceState(null, '', location.pathname + (params.toString() ? '?' + params.toString() : ''));
  }
  var now = Date.now();
  el('to').value = params.get('to') || day(now);
  el('from').value = params.get('from') || day(now - 29 * 86400000);

  function get(path, query) {
    var q = new URLSearchParams(query);
    q.set('limit', '1000');
    return fetch(path + '?' + q.toString(), { headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' } }).then(function (r) {
      return r.json().then(function (body) { return { status: r.status, body: body }; });
    });
  }

  // Admins and auditors see every account; anyone else sees their own usage.
  function load(query) {
    return get('/api/usage', query).then(function (r) {
      if (r.status === 403) return get('/api/usage/me', query).then(function (m) { m.own = true; return m; });
      return r;
    });
  }

  function days(from, to) {
    var out = [];
    for (var t = Date.parse(from + 'T00:00:00Z'); t <= Date.parse(to + 'T00:00:00Z'); t += 86400000) out.push(t / 1000);
    return out;
  }

  function seriesByModel(rows, x, value) {
    var models = Array.from(new Set(rows.map(function (r) { return r.model || '(none)'; }))).sort();
    var index = new Map(x.map(function (t, i) { return [day(t * 1000), i]; }));
    var data = [x].concat(models.map(function () { return x.map(function () { return 0; }); }));
    rows.forEach(function (r) {
      var i = index.get(r.day);
      if (i !== undefined) data[models.indexOf(r.model || '(none)') + 1][i] += value(r);
    });
    return { models: models, data: data };
  }

  var palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

  function draw(id, title, names, data) {
    if (charts[id]) charts[id].destroy();
    var series = [{}].concat(names.map(function (n, i) { return { label: n, stroke: palette[i % palette.length], width: 2, points: { show: true } }; }));
    charts[id] = new uPlot({ title: title, width: Math.min(900, window.innerWidth - 60), height: 260, series: series, axes: [{}, { size: 70 }] }, data, el(id));
  }

  function show() {
    var from = el('from').value;
    var to = el('to').value;
    if (!token) { status('Enter a token to load usage.', true); return Promise.resolve(); }
    status('Loading...');
    var range = { from: from, to: to };
    return Promise.all([
      load(Object.assign({ groupBy: 'day,model' }, range)),
      load(Object.assign({ groupBy: 'day' }, range)),
      load(Object.assign({ groupBy: 'account' }, range)),
    ]).then(function (answers) {
      var bad = answers.find(function (a) { return a.status !== 200; });
      if (bad) { status((bad.body && (bad.body.detail || bad.body.title)) || ('HTTP ' + bad.status), true); return; }
      var x = days(from, to);
      var byModel = answers[0].body.rows;
      var credits = seriesByModel(byModel, x, function (r) { return r.creditsCharged; });
      var tokens = seriesByModel(byModel, x, function (r) { return r.inputTokens + r.outputTokens; });
      draw('credits-chart', 'credits charged', credits.models, credits.data);
      draw('tokens-chart', 'tokens', tokens.models, tokens.data);
      var perDay = new Map(answers[1].body.rows.map(function (r) { return [r.day, r]; }));
      var rate = x.map(function (t) {
        var r = perDay.get(day(t * 1000));
        var ended = r ? r.completed + r.stopped + r.failed : 0;
        return ended === 0 ? null : Math.round((1000 * r.failed) / ended) / 10;
      });
      draw('failure-chart', 'failed, % of requests that ended', ['failure rate %'], [x, rate]);
      var sum = answers[1].body.rows.reduce(function (a, r) { return { failed: a.failed + r.failed, ended: a.ended + r.completed + r.stopped + r.failed }; }, { failed: 0, ended: 0 });
      el('failure-total').textContent = sum.ended === 0 ? 'No request ended in this range.' : sum.failed + ' of ' + sum.ended + ' requests failed (' + (Math.round((1000 * sum.failed) / sum.ended) / 10) + ' %).';
      var top = answers[2].body.rows.slice().sort(function (a, b) { return b.creditsCharged - a.creditsCharged; }).slice(0, 10);
      var body = el('top-accounts').querySelector('tbody');
      body.replaceChildren.apply(body, top.map(function (r) {
        var tr = document.createElement('tr');
        [r.accountId, r.requests, r.creditsCharged, r.inputTokens + r.outputTokens, r.failed].forEach(function (v) {
          var td = document.createElement('td');
          td.textContent = String(v);
          tr.appendChild(td);
        });
        return tr;
      }));
      var own = answers[0].own ? ' (your account only)' : '';
      status('Ledger position ' + answers[0].body.position + own + '.');
      window.usagePage = { ready: true, points: byModel.length, models: credits.models, position: answers[0].body.position };
    }).catch(function (error) { status(String(error), true); });
  }

  el('controls').addEventListener('submit', function (event) {
    event.preventDefault();
    var typed = el('token').value.trim();
    if (typed) { token = typed; el('token').value = ''; }
    show();
  });
  window.usagePage = { ready: false };
  if (token) show();
})();
`;
