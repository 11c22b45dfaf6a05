// A donation's receipt, /d/{id}.
import { idFrom, mount } from '../mount';
import { ReceiptPage } from '../receipt';

mount(<ReceiptPage id={idFrom('/d/')} />);
