admit_functions::main!(get_member_profile);
