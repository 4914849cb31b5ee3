admit_functions::main!(my_businesses);
