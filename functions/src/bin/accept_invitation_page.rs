admit_functions::main!(accept_invitation_page);
