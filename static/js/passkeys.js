// After django-otp-webauthn's script registers a passkey: a user without recovery codes gets them
// now (the page's "Make recovery codes" form, answered by the server, shown once); anyone else sees
// the page again with the passkey listed.
document.addEventListener("otp_webauthn.register_complete", () => {
  const makeCodes = document.getElementById("make-recovery-codes");
  if (makeCodes) {
    makeCodes.submit();
  } else {
    window.location.reload();
  }
});
