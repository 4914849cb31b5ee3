admit_functions::main!(verify_email_page);
