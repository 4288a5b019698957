// Small pages for people: the pages emailed links open (they read the token from the URL
// fragment, which browsers never send to servers or proxies), and in dev the mail outbox.
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps';
import { esc } from '../views/html';
const CSP = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

const RECOVER_HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Account recovery</title>
<meta name="referrer" content="no-referrer"><meta name="viewport" content="width=device-width">
<style>body{font:16px system-ui;max-width:32em;margin:3em auto;padding:0 1em}input,button{font:inherit;padding:.4em;width:100%;box-sizing:border-box;margin:.3em 0}</style></head>
<body><h1>Account recovery</h1><p id="msg">Checking your link…</p>
<form id="f" hidden><label id="codel" hidden>Code from your authenticator app<input id="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6"></label><label id="pwl" hidden>New password (12 to 128 characters)<input id="pw" type="password" autocomplete="new-password" minlength="12" maxlength="128"></label>
<button id="go" type="submit">Continue</button></form>
<script src="/recover.js"></script></body></html>`;

const RECOVER_JS = `(function(){
var token=decodeURIComponent(location.hash.slice(1));var tenant=new URLSearchParams(location.search).get('tenant')||undefined;
history.replaceState(null,'',location.pathname+location.search);
var msg=document.getElementById('msg'),f=document.getElementById('f'),pw=document.getElementById('pwl'),btn=document.getElementById('go');
function say(t){msg.textContent=t}
function post(path,body){return fetch(path,{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify(body)}).then(function(r){return r.json().then(function(b){return{ok:r.ok,b:b}})})}
if(!token){say('This link is incomplete.');return}
var purpose;
fetch('/v1/links/'+encodeURIComponent(token)+(tenant?'?tenant='+encodeURIComponent(tenant):'')).then(function(r){return r.json().then(function(b){return{ok:r.ok,b:b}})}).then(function(x){
 if(!x.ok){say(x.b.error?x.b.error.message:'This link cannot be used.');return}
 purpose=x.b.purpose;var until=' This link works once and expires at '+new Date(x.b.expiresAt).toLocaleString()+'.';
 if(purpose==='password_reset'){say('Choose a new password.'+until);pw.hidden=false;btn.textContent='Set new password'}
 else if(purpose==='cancel'){say('A recovery of your account is pending. If you did not ask for it, stop it now.');btn.textContent='This was not me: cancel it'}
 else if(purpose==='verify_possession'){say('Confirm that you are the one recovering this account.'+until);btn.textContent='Yes, this is me'}
 else if(purpose==='mfa_enrolment'){say('Enrol a new authenticator app.'+until);btn.textContent='Show my new authenticator secret'}
 else if(purpose==='invitation'){say('Welcome. Set up an authenticator app, confirm it with a code, then choose your password.'+until);inviteStep(x.b.requires[0])}
 f.hidden=false});
// An invitation goes factor, code, then password: each answer moves it to the next step.
function inviteStep(step){purpose='invitation:'+step;document.getElementById('codel').hidden=step!=='code';pw.hidden=step!=='newPassword';
 btn.textContent=step==='factor'?'Set up my authenticator app':step==='code'?'Confirm the code':'Set my password'}
function invite(step){var body={token:token,tenantId:tenant};
 var req=step==='factor'?post('/v1/links/factor',Object.assign(body,{factor:{type:'totp'}})):step==='code'?post('/v1/links/factor/confirm',Object.assign(body,{code:document.getElementById('code').value})):post('/v1/links/redeem',Object.assign(body,{newPassword:document.getElementById('pw').value}));
 req.then(function(x){if(!x.ok){say(x.b.error.message);return}
  if(step==='factor'){say(x.b.message+' Secret: '+x.b.totp.secret+'  ('+x.b.totp.otpauthUri+')');inviteStep('code')}
  else if(step==='code'){say(x.b.message);inviteStep('newPassword')}else{f.hidden=true;say(x.b.message)}})}
f.addEventListener('submit',function(e){e.preventDefault();
 if(purpose.indexOf('invitation:')===0){invite(purpose.slice(11));return}
 var req=purpose==='cancel'?post('/v1/links/cancel',{token:token,tenantId:tenant}):post('/v1/links/redeem',purpose==='password_reset'?{token:token,tenantId:tenant,newPassword:document.getElementById('pw').value}:purpose==='mfa_enrolment'?{token:token,tenantId:tenant,factor:{type:'totp'}}:{token:token,tenantId:tenant});
 req.then(function(x){if(!x.ok){say(x.b.error.message);return}f.hidden=true;say(x.b.message+(x.b.totp?' Secret: '+x.b.totp.secret+'  ('+x.b.totp.otpauthUri+')':''))})});
})();`;

const VERIFY_HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Confirm your email address</title>
<meta name="referrer" content="no-referrer"><meta name="viewport" content="width=device-width">
<style>body{font:16px system-ui;max-width:32em;margin:3em auto;padding:0 1em}button{font:inherit;padding:.4em;width:100%}</style></head>
<body><h1>Confirm your email address</h1><p id="msg">If you hold the API key this email was about, confirm below. The link works once.</p>
<button id="go">I hold this key: confirm</button><script src="/verify-email.js"></script></body></html>`;

// Nothing happens on load (mail scanners open links): only the button posts the token.
const VERIFY_JS = `(function(){
var token=decodeURIComponent(location.hash.slice(1));history.replaceState(null,'',location.pathname);
var msg=document.getElementById('msg'),btn=document.getElementById('go');
if(!token){msg.textContent='This link is incomplete.';btn.hidden=true;return}
btn.addEventListener('click',function(){btn.disabled=true;fetch('/v1/persons/verify',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({token:token})})
 .then(function(r){return r.json()}).then(function(b){msg.textContent=b.message||(b.error&&b.error.message)||'Done.';btn.hidden=true})});
})();`;

export function pageRoutes(app: FastifyInstance, deps: AppDeps) {
  app.get('/verify-email', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', CSP).header('cache-control', 'no-store').send(VERIFY_HTML),
  );
  app.get('/verify-email.js', { schema: { hide: true } }, async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(VERIFY_JS));
  app.get('/recover', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', CSP).header('cache-control', 'no-store').send(RECOVER_HTML),
  );
  app.get('/recover.js', { schema: { hide: true } }, async (_req, reply) => reply.type('text/javascript; charset=utf-8').send(RECOVER_JS));

  const dir = deps.outboxDir;
  if (!dir) return;
  // Dev only (npm start without SMTP_URL): the mails the engine sent, newest first.
  app.get('/dev/outbox', { schema: { hide: true } }, async (_req, reply) => {
    const files = fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((f) => f.endsWith('.json'))
          .sort()
          .reverse()
          .slice(0, 200)
      : [];
    const items = files.map((f) => {
      try {
        const m = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { text?: string; subject?: string; receivedAt?: string; to?: string[] };
        const body = esc(m.text ?? '').replace(/(https?:\/\/[^\s<]+)/g, '<a href="$1">$1</a>');
        return `<article><h3>${esc(m.subject ?? '')}</h3><p><small>${esc(m.receivedAt ?? '')} to ${esc((m.to ?? []).join(', '))}</small></p><pre style="white-space:pre-wrap">${body}</pre></article><hr>`;
      } catch {
        return '';
      }
    });
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .header('cache-control', 'no-store')
      .send(
        `<!doctype html><html><head><meta charset="utf-8"><title>Dev outbox</title><meta http-equiv="refresh" content="5"></head><body style="font:15px system-ui;max-width:50em;margin:2em auto"><h1>Dev outbox</h1><p>${files.length} message(s), newest first. Refreshes every 5 s.</p>${items.join('')}</body></html>`,
      );
  });
}
