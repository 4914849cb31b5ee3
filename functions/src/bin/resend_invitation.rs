admit_functions::main!(resend_invitation);
