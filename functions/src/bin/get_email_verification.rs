admit_functions::main!(get_email_verification);
