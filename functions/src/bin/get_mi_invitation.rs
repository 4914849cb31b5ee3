admit_functions::main!(get_mi_invitation);
