// The gntplib browser receiver. Everything a sender controls goes into the page with
// textContent or as an attribute value, never as markup.
'use strict';

(function () {
  // A capped list keeps the page responsive with a long history: only the newest
  // matching cards are in the document; filter and search go over the whole history.
  const MAX_RENDERED = 200;
  const PRIORITIES = { '-2': 'very low', '-1': 'moderate', 1: 'high', 2: 'emergency' };
  const RESULTS = { CLICK: 'clicked', CLOSE: 'closed', TIMEDOUT: 'timed out' };

  const state = {
    cards: [], // oldest first, as the server keeps them
    byId: new Map(),
    elements: new Map(), // card id -> rendered <li>
    apps: [],
    historySize: 10000,
    filterApp: '',
    search: '',
    showDismissed: false,
    desktop: false,
    socket: null,
    pending: [],
    flushScheduled: false,
    retry: 500,
    matching: 0, // how many cards of the history pass the filter and search
    appNames: new Set(), // applications offered in the filter
  };
  // When each live card was put in the page (ms since the epoch): the latency figure.
  const shownAt = new Map();
  window.gntplibShownAt = shownAt;

  const $ = (id) => document.getElementById(id);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function safeUrl(url) {
    if (typeof url !== 'string') return null;
    if (/^icons\/[0-9a-f]{32}$/.test(url) || /^https?:\/\//i.test(url)) return url;
    return null;
  }

  function icon(url, className) {
    const src = safeUrl(url);
    if (!src) return null;
    const img = el('img', className);
    img.alt = '';
    img.referrerPolicy = 'no-referrer';
    img.src = src;
    img.addEventListener('error', () => { img.hidden = true; });
    return img;
  }

  // -- talking to the server ----------------------------------------------------------------

  function send(message) {
    if (state.socket && state.socket.readyState === WebSocket.OPEN) {
      state.socket.send(JSON.stringify(message));
    } else {
      showError('Not connected to the server; try again in a moment.');
    }
  }

  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const socket = new WebSocket(scheme + location.host + '/ws');
    state.socket = socket;
    setStatus('connecting', 'connecting');
    socket.onopen = () => { state.retry = 500; setStatus('live', 'live'); };
    socket.onmessage = (event) => receive(JSON.parse(event.data));
    socket.onclose = () => {
      if (state.socket !== socket) return;
      setStatus('offline', 'reconnecting…');
      setTimeout(connect, state.retry);
      state.retry = Math.min(state.retry * 2, 10000);
    };
  }

  function receive(message) {
    switch (message.type) {
      case 'hello':
        state.historySize = message.history_size;
        state.cards = message.cards;
        state.byId = new Map(state.cards.map((card) => [card.id, card]));
        state.apps = message.apps;
        state.pending = [];
        renderApps();
        renderAll();
        break;
      case 'card':
        state.pending.push(message.card);
        scheduleFlush();
        break;
      case 'update':
        update(message.card);
        break;
      case 'apps':
        state.apps = message.apps;
        renderApps();
        break;
      case 'error':
        showError(message.message);
        break;
      default:
        break;
    }
  }

  // -- cards ----------------------------------------------------------------------------------

  function matches(card) {
    if (card.dismissed && !state.showDismissed) return false;
    if (state.filterApp && card.app !== state.filterApp) return false;
    if (!state.search) return true;
    const needle = state.search;
    return [card.title, card.text, card.app, card.name].some(
      (value) => typeof value === 'string' && value.toLowerCase().includes(needle));
  }

  function buildCard(card) {
    const item = el('li', 'card');
    item.dataset.id = String(card.id);
    if (card.notification_id) item.dataset.notificationId = card.notification_id;
    if (card.priority) item.classList.add('priority-' + String(card.priority).replace('-', 'm'));
    const picture = icon(card.icon, 'icon') || icon(card.app_icon, 'icon');
    item.append(picture || el('div', 'icon placeholder'));

    const body = el('div', 'body');
    const meta = el('div', 'meta');
    meta.append(el('span', 'app', card.app), el('span', 'type', card.name));
    const time = el('time', 'time', new Date(card.time).toLocaleTimeString());
    time.dateTime = card.time;
    meta.append(time);
    if (PRIORITIES[card.priority]) meta.append(el('span', 'badge priority', PRIORITIES[card.priority]));
    if (card.sticky) meta.append(el('span', 'badge sticky', 'sticky'));
    body.append(meta, el('h3', 'title', card.title));
    if (card.text) body.append(el('p', 'text', card.text));

    const actions = el('div', 'actions');
    const click = el('button', 'click', card.callback && card.callback.kind === 'url' ? 'Open' : 'Click');
    click.type = 'button';
    if (card.callback && card.callback.kind === 'url') click.title = card.callback.url;
    click.addEventListener('click', () => clickCard(card.id));
    const dismiss = el('button', 'dismiss', 'Dismiss');
    dismiss.type = 'button';
    dismiss.addEventListener('click', () => send({ action: 'dismiss', id: card.id }));
    actions.append(click, dismiss);
    if (card.callback && card.callback.kind === 'socket') actions.append(el('span', 'waiting', 'sender waiting'));
    actions.append(el('span', 'result'));
    body.append(actions);
    item.append(body);
    paintResult(item, card);
    return item;
  }

  function paintResult(item, card) {
    const result = item.querySelector('.result');
    result.textContent = card.result ? RESULTS[card.result] || card.result : '';
    const waiting = item.querySelector('.waiting');
    if (waiting) waiting.hidden = Boolean(card.result);
    item.querySelector('.click').disabled = Boolean(card.result) && card.callback !== null
      && card.callback.kind === 'socket';
    item.classList.toggle('dismissed', card.dismissed);
    item.classList.toggle('answered', Boolean(card.result));
  }

  function clickCard(id) {
    const card = state.byId.get(id);
    if (!card) return;
    if (card.callback && card.callback.kind === 'url' && /^https?:\/\//i.test(card.callback.url)) {
      window.open(card.callback.url, '_blank', 'noopener,noreferrer');
    }
    send({ action: 'click', id: id });
  }

  function addToHistory(card) {
    state.cards.push(card);
    state.byId.set(card.id, card);
    if (matches(card)) state.matching += 1;
    const excess = state.cards.length - state.historySize;
    if (excess > 0) {
      for (const old of state.cards.splice(0, excess)) {
        state.byId.delete(old.id);
        if (matches(old)) state.matching -= 1;
        const element = state.elements.get(old.id);
        if (element) { element.remove(); state.elements.delete(old.id); }
      }
    }
  }

  function scheduleFlush() {
    if (state.flushScheduled) return;
    state.flushScheduled = true;
    requestAnimationFrame(flush);
    setTimeout(flush, 100); // a hidden tab gets no animation frames
  }

  function flush() {
    state.flushScheduled = false;
    if (!state.pending.length) return;
    const batch = state.pending;
    state.pending = [];
    const list = $('cards');
    const fresh = [];
    for (const card of batch) {
      addToHistory(card);
      addAppName(card.app);
      if (!matches(card)) continue;
      const item = buildCard(card);
      state.elements.set(card.id, item);
      list.insertBefore(item, list.firstChild);
      fresh.push(card);
    }
    trimList();
    const now = performance.timeOrigin + performance.now();
    for (const card of batch) shownAt.set(card.id, now);
    while (shownAt.size > 20000) shownAt.delete(shownAt.keys().next().value);
    updateCounts();
    for (const card of fresh) desktopNotify(card);
  }

  function trimList() {
    const list = $('cards');
    while (list.children.length > MAX_RENDERED) {
      const last = list.lastElementChild;
      state.elements.delete(Number(last.dataset.id));
      last.remove();
    }
  }

  function update(card) {
    const known = state.byId.get(card.id);
    if (!known) return;
    const before = matches(known);
    Object.assign(known, card);
    state.matching += Number(matches(known)) - Number(before);
    const item = state.elements.get(card.id);
    if (item && !matches(known)) {
      item.remove();
      state.elements.delete(card.id);
    } else if (item) {
      paintResult(item, known);
    } else if (matches(known)) {
      renderAll();
      return;
    }
    updateCounts();
  }

  function renderAll() {
    const list = $('cards');
    const fragment = document.createDocumentFragment();
    state.elements.clear();
    for (let i = state.cards.length - 1; i >= 0 && state.elements.size < MAX_RENDERED; i -= 1) {
      const card = state.cards[i];
      if (!matches(card)) continue;
      const item = buildCard(card);
      state.elements.set(card.id, item);
      fragment.append(item);
    }
    list.replaceChildren(fragment);
    state.matching = 0;
    for (const card of state.cards) if (matches(card)) state.matching += 1;
    updateCounts();
    renderFilterOptions();
  }

  function updateCounts() {
    const total = state.matching;
    const shown = $('cards').children.length;
    const more = $('more');
    more.hidden = total <= shown;
    more.textContent = total > shown
      ? `Showing the newest ${shown} of ${total} notifications; filter or search to find older ones.`
      : '';
    $('empty').hidden = state.cards.length > 0;
  }

  // -- applications ------------------------------------------------------------------------

  function addAppName(name) {
    if (state.appNames.has(name)) return;
    state.appNames.add(name);
    const select = $('app-filter');
    const option = el('option', null, name);
    option.value = name;
    const after = Array.from(select.options).slice(1).find((other) => other.value > name);
    select.insertBefore(option, after || null);
  }

  function renderFilterOptions() {
    for (const app of state.apps) addAppName(app.name);
    for (const card of state.cards) addAppName(card.app);
  }

  function renderApps() {
    const list = $('apps');
    const fragment = document.createDocumentFragment();
    for (const app of state.apps) {
      const item = el('li', 'app-entry');
      item.dataset.app = app.name;
      const head = el('div', 'app-head');
      const picture = icon(app.icon, 'app-icon');
      if (picture) head.append(picture);
      head.append(el('span', 'app-name', app.name));
      item.append(head);
      const types = el('ul', 'types');
      for (const type of app.notifications) {
        const row = el('li', 'type-row');
        const label = el('label', 'switch');
        const input = el('input');
        input.type = 'checkbox';
        input.setAttribute('role', 'switch');
        input.checked = type.enabled;
        input.dataset.app = app.name;
        input.dataset.name = type.name;
        input.addEventListener('change', () => send({
          action: 'enable', app: app.name, name: type.name, enabled: input.checked,
        }));
        label.append(input, el('span', 'type-name', type.display_name));
        label.title = type.enabled ? 'shown' : 'refused (-ERROR 404)';
        row.append(label);
        types.append(row);
      }
      item.append(types);
      fragment.append(item);
    }
    list.replaceChildren(fragment);
    $('no-apps').hidden = state.apps.length > 0;
    renderFilterOptions();
  }

  // -- desktop notifications (the Notification API) ----------------------------------------

  function desktopNotify(card) {
    if (!state.desktop || !('Notification' in window) || Notification.permission !== 'granted') return;
    const options = { body: card.text, tag: 'gntplib-' + card.id };
    const src = safeUrl(card.icon) || safeUrl(card.app_icon);
    if (src) options.icon = src;
    const note = new Notification(card.app + ': ' + card.title, options);
    note.onclick = () => { window.focus(); clickCard(card.id); note.close(); };
  }

  function toggleDesktop() {
    const button = $('desktop');
    if (!('Notification' in window)) {
      showError('This browser has no desktop notifications.');
      return;
    }
    if (state.desktop) {
      state.desktop = false;
      button.textContent = 'Desktop notifications: off';
      return;
    }
    Notification.requestPermission().then((permission) => {
      state.desktop = permission === 'granted';
      button.textContent = 'Desktop notifications: ' + (state.desktop ? 'on' : 'blocked');
    });
  }

  // -- the rest of the page ----------------------------------------------------------------

  function setStatus(kind, text) {
    const status = $('status');
    status.className = 'status ' + kind;
    status.textContent = text;
  }

  function showError(text) {
    const box = $('error');
    box.textContent = text;
    box.hidden = false;
    clearTimeout(showError.timer);
    showError.timer = setTimeout(() => { box.hidden = true; }, 8000);
  }

  function start() {
    $('app-filter').addEventListener('change', (event) => {
      state.filterApp = event.target.value;
      renderAll();
    });
    $('search').addEventListener('input', (event) => {
      state.search = event.target.value.trim().toLowerCase();
      renderAll();
    });
    $('show-dismissed').addEventListener('change', (event) => {
      state.showDismissed = event.target.checked;
      renderAll();
    });
    $('desktop').addEventListener('click', toggleDesktop);
    connect();
  }

  window.gntplib = { state: state, clickCard: clickCard };
  start();
}());
