admit_functions::main!(register_device);
