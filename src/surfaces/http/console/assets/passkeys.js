// Countersign console: passkeys (WebAuthn) for step-up approvals, on the pages that need them.
// - a form with data-passkey-register registers a passkey (after confirming with one held already, when the
//   server asks for it);
// - a form with data-passkey-remove removes one of one's passkeys after confirming with one of them (its own challenge,
//   bound to the passkey being removed);
// - a form with data-step-up runs the confirmation when its Approve button is pressed: options from the server,
//   the authenticator (user verification required), then the answer back to the server, which records the approval;
// - a form with data-break-glass-step-up does the same for breaking the glass (its own challenge, the justification
//   sent with the answer).
// Without this script (or without WebAuthn), Approve sends the plain form and the server refuses it (STEP_UP_REQUIRED).
'use strict';

(function () {
  function toBuffer(s) {
    s = String(s).replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toText(buf) {
    if (!buf) return undefined;
    var bytes = new Uint8Array(buf), s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function withIds(list) {
    return (list || []).map(function (c) { return { id: toBuffer(c.id), type: c.type, transports: c.transports }; });
  }

  function creationOptions(o) {
    var p = Object.assign({}, o, { challenge: toBuffer(o.challenge), user: Object.assign({}, o.user, { id: toBuffer(o.user.id) }) });
    p.excludeCredentials = withIds(o.excludeCredentials);
    return p;
  }

  function requestOptions(o) {
    return Object.assign({}, o, { challenge: toBuffer(o.challenge), allowCredentials: withIds(o.allowCredentials) });
  }

  function common(cred) {
    return { id: cred.id, rawId: toText(cred.rawId), type: cred.type, clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}, authenticatorAttachment: cred.authenticatorAttachment || undefined };
  }

  function registration(cred) {
    var r = cred.response, out = common(cred);
    out.response = { clientDataJSON: toText(r.clientDataJSON), attestationObject: toText(r.attestationObject), transports: r.getTransports ? r.getTransports() : [] };
    return out;
  }

  function assertion(cred) {
    var r = cred.response, out = common(cred);
    out.response = { clientDataJSON: toText(r.clientDataJSON), authenticatorData: toText(r.authenticatorData), signature: toText(r.signature), userHandle: toText(r.userHandle) };
    return out;
  }

  // POSTs fields as a form (the console's CSRF token among them) and reads the JSON answer.
  function post(url, fields) {
    return fetch(url, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: new URLSearchParams(fields).toString() }).then(function (res) {
      return res.json().catch(function () { return { error: { code: 'HTTP_' + res.status, message: 'the gateway refused (status ' + res.status + '); reload the page and try again' } }; }).then(function (body) {
        if (!res.ok || body.error) throw new Error((body.error && body.error.code ? body.error.code + ': ' : '') + (body.error ? body.error.message : 'refused'));
        return body;
      });
    });
  }

  function say(form, text) {
    var box = form.querySelector('[data-passkey-status]');
    if (box) box.textContent = text;
  }

  function failed(form, button) {
    return function (e) {
      if (button) button.disabled = false;
      var why = e && e.name === 'NotAllowedError' ? 'The passkey prompt was cancelled or timed out; nothing was recorded.' : (e && e.message) || String(e);
      say(form, why);
    };
  }

  function register(form) {
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var button = form.querySelector('button[type=submit]');
      if (button) button.disabled = true;
      var csrf = form.elements['_csrf'].value, label = form.elements['label'] ? form.elements['label'].value : '';
      var confirmation = null;
      say(form, 'Waiting for your authenticator…');
      post(form.getAttribute('data-passkey-register'), { _csrf: csrf })
        .then(function (o) {
          var first = o.confirm ? navigator.credentials.get({ publicKey: requestOptions(o.confirm) }).then(function (c) { confirmation = assertion(c); }) : Promise.resolve();
          return first.then(function () { return navigator.credentials.create({ publicKey: creationOptions(o.registration) }); });
        })
        .then(function (cred) {
          var fields = { _csrf: csrf, label: label, credential: JSON.stringify(registration(cred)) };
          if (confirmation) fields.confirmation = JSON.stringify(confirmation);
          return post(form.getAttribute('action'), fields);
        })
        .then(function (done) { window.location.assign(done.redirect); }, failed(form, button));
    });
  }

  function remove(form) {
    form.addEventListener('submit', function (ev) {
      if (!window.PublicKeyCredential) return;
      ev.preventDefault();
      var button = form.querySelector('button[type=submit]');
      if (button) button.disabled = true;
      var csrf = form.elements['_csrf'].value, box = document.getElementById('passkey-remove-status');
      var show = function (text) { if (box) box.textContent = text; };
      show('Confirm with one of your passkeys…');
      post(form.getAttribute('data-passkey-remove'), { _csrf: csrf })
        .then(function (o) { return navigator.credentials.get({ publicKey: requestOptions(o.options) }); })
        .then(function (cred) { return post(form.getAttribute('action'), { _csrf: csrf, confirmation: JSON.stringify(assertion(cred)) }); })
        .then(function (done) { window.location.assign(done.redirect); }, function (e) {
          if (button) button.disabled = false;
          show(e && e.name === 'NotAllowedError' ? 'The passkey prompt was cancelled or timed out; nothing was removed.' : (e && e.message) || String(e));
        });
    });
  }

  function stepUp(form) {
    form.addEventListener('submit', function (ev) {
      var submitter = ev.submitter;
      if (!submitter || submitter.value !== 'approve' || !window.PublicKeyCredential) return;
      ev.preventDefault();
      submitter.disabled = true;
      var base = form.getAttribute('data-step-up');
      var fields = { _csrf: form.elements['_csrf'].value, digest: form.elements['digest'].value };
      say(form, 'Confirm with your passkey…');
      post(base + '/options', fields)
        .then(function (o) { return navigator.credentials.get({ publicKey: requestOptions(o.options) }); })
        .then(function (cred) {
          var confirm = form.elements['confirm'];
          var more = { comment: form.elements['comment'].value, confirm: confirm && confirm.checked ? confirm.value : '', credential: JSON.stringify(assertion(cred)) };
          // The optional grant fields go with the approval they were filled in for.
          ['grant_uses', 'grant_minutes'].forEach(function (n) { if (form.elements[n]) more[n] = form.elements[n].value; });
          return post(base, Object.assign({}, fields, more));
        })
        .then(function (done) { window.location.assign(done.redirect); }, failed(form, submitter));
    });
  }

  function breakGlass(form) {
    form.addEventListener('submit', function (ev) {
      if (!window.PublicKeyCredential) return;
      ev.preventDefault();
      var submitter = ev.submitter || form.querySelector('button[type=submit]');
      if (submitter) submitter.disabled = true;
      var base = form.getAttribute('data-break-glass-step-up');
      var fields = { _csrf: form.elements['_csrf'].value, digest: form.elements['digest'].value };
      say(form, 'Confirm with your passkey…');
      post(base + '/options', fields)
        .then(function (o) { return navigator.credentials.get({ publicKey: requestOptions(o.options) }); })
        .then(function (cred) {
          return post(base, Object.assign({}, fields, { justification: form.elements['justification'].value, credential: JSON.stringify(assertion(cred)) }));
        })
        .then(function (done) { window.location.assign(done.redirect); }, failed(form, submitter));
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var b = document.querySelectorAll('form[data-break-glass-step-up]');
    for (var k = 0; k < b.length; k++) breakGlass(b[k]);
    var r = document.querySelectorAll('form[data-passkey-register]');
    for (var i = 0; i < r.length; i++) register(r[i]);
    var d = document.querySelectorAll('form[data-passkey-remove]');
    for (var m = 0; m < d.length; m++) remove(d[m]);
    var s = document.querySelectorAll('form[data-step-up]');
    for (var j = 0; j < s.length; j++) stepUp(s[j]);
  });
})();
