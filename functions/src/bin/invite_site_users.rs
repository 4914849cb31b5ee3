admit_functions::main!(invite_site_users);
