admit_functions::main!(accept_mi_invitation);
