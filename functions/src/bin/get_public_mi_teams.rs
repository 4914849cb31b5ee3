admit_functions::main!(get_public_mi_teams);
