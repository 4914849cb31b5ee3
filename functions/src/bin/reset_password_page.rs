admit_functions::main!(reset_password_page);
